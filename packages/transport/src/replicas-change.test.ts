/**
 * Replicas that come and go (replicas.ts), on real sockets: a caller busy calling a service whose
 * name resolves to one replica is given a second one by DNS, and without restarting spreads its
 * calls over both and registers its event subscription with the new one; then the first leaves
 * DNS and stops, and every call still succeeds. The DNS answer is the one thing stood in for (a
 * name cannot be made to resolve to 127.0.0.2 and 127.0.0.3 here without editing the hosts file);
 * each replica is a real server on its own loopback address, at the same port, as in a cluster.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransport, type RoutedTransport } from './factory.js';
import { silentLogger } from './logger.js';
import type { Lookup } from './replicas.js';
import { TcpProxy, TestWorld, eventually, freePort, sleep } from './testing/index.js';
import type { TransportKind } from './transport.js';

const REFRESH_MS = 200;
const CONCURRENCY = 8;
const NAME = 'echo.invalid';

/** Each replica's echo, counting the calls it served. */
function replicas(): {
  served: Record<'a' | 'b', number>;
  replica: (name: 'a' | 'b') => { echo: () => Promise<string> };
} {
  const served = { a: 0, b: 0 };
  const replica = (name: 'a' | 'b') => ({
    echo: async () => {
      served[name]++;
      await sleep(1);
      return name;
    },
  });
  return { served, replica };
}

/** CONCURRENCY callers making `call` until stop(), each failure recorded. */
function underLoad(call: () => Promise<unknown>): {
  calls: () => number;
  failures: string[];
  stop: () => Promise<void>;
} {
  const failures: string[] = [];
  let calls = 0;
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      try {
        await call();
        calls++;
      } catch (err) {
        failures.push(String(err));
        await sleep(1); // a call failing at once must not starve the test's timers
      }
    }
  };
  const workers = Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return {
    calls: () => calls,
    failures,
    stop: async () => {
      running = false;
      await workers;
    },
  };
}

describe.each<TransportKind>(['http', 'tcp', 'udp'])('replicas coming and going over %s', (kind) => {
  let world: TestWorld;
  let caller: RoutedTransport | undefined;

  beforeEach(() => {
    world = new TestWorld(kind, { replicaRefreshMs: REFRESH_MS });
  });
  afterEach(async () => {
    await caller?.close();
    await world.close();
  });

  /** What DNS answers for NAME now: the replicas' addresses. */
  let answer: string[];
  const lookup: Lookup = async (host) => {
    if (host !== NAME) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer.map((address) => ({ address, family: 4 }));
  };

  it('reaches a replica added later, shares calls with it, and loses no call when the first leaves', async () => {
    const port = await freePort();
    const { served, replica } = replicas();
    const a = await world.serve('echo', replica('a'), world.transport(), `127.0.0.2:${port}`);
    const publisherB = world.transport();
    await world.serve('echo', replica('b'), publisherB, `127.0.0.3:${port}`);
    answer = ['127.0.0.2'];
    world.config.services.echo = { addresses: [`${NAME}:${port}`] };
    caller = createTransport(world.config, silentLogger, { lookup });
    await caller.resolveReplicas();
    const client = caller;

    const news: unknown[] = [];
    await client.subscribe('echo', 'echo.news', (event) => void news.push(event));

    const load = underLoad(() => client.request('echo', 'echo', {}, { idempotent: true, timeoutMs: 5_000 }));
    try {
      // One replica: it takes every call.
      await sleep(300);
      expect(served.a).toBeGreaterThan(0);
      expect(served.b).toBe(0);

      // A second one appears in DNS: within about one refresh it takes calls, and its events arrive.
      answer = ['127.0.0.2', '127.0.0.3'];
      const added = Date.now();
      await eventually(() => expect(served.b).toBeGreaterThan(0), 3_000, 5);
      const firstCallMs = Date.now() - added;
      await eventually(
        async () => {
          await publisherB.publish('echo', 'echo.news', { from: 'b' });
          expect(news).toContainEqual({ from: 'b' });
        },
        3_000,
        50,
      );
      const firstEventMs = Date.now() - added;
      const before = { ...served };
      await sleep(600);
      const shared = { a: served.a - before.a, b: served.b - before.b };

      // The first leaves DNS and stops at once, as a pod does when it is terminated.
      answer = ['127.0.0.3'];
      const left = Date.now();
      await a.close();
      await sleep(3 * REFRESH_MS);
      const lastOfA = served.a;
      const bBefore = served.b;
      await sleep(500);
      await load.stop();

      console.log(
        `${kind}: second replica's first call ${firstCallMs} ms and first event ${firstEventMs} ms after it was added; ` +
          `next 600 ms: ${shared.a} calls to the first, ${shared.b} to the second; ` +
          `after the first left (${Date.now() - left} ms): ${served.a - lastOfA} more to it, ${served.b - bBefore} to the second; ` +
          `${load.calls()} calls, ${load.failures.length} failed`,
      );
      expect(firstCallMs).toBeLessThan(REFRESH_MS + 500);
      expect(firstEventMs).toBeLessThan(REFRESH_MS + 1_000);
      // A fair share: the less loaded of two takes each call, so roughly half each.
      expect(shared.b / (shared.a + shared.b)).toBeGreaterThan(0.3);
      expect(shared.a / (shared.a + shared.b)).toBeGreaterThan(0.3);
      expect(served.a).toBe(lastOfA);
      expect(served.b - bBefore).toBeGreaterThan(50);
      // Idempotent calls are retried while nobody answers (retry.ts): the first replica stopping
      // while a call is on its way to it costs a retry, never a failure.
      expect(load.failures).toEqual([]);
    } finally {
      await load.stop();
    }
  });

  it.skipIf(kind === 'udp')(
    'closes its connections to a replica that left DNS once their calls are done, though it still runs',
    async () => {
      const port = await freePort();
      const { served, replica } = replicas();
      // The first replica behind a proxy at its DNS address, which counts the connections held to it.
      const a = await world.serve('echo', replica('a'));
      const proxy = await TcpProxy.start({ target: a.address, listen: `127.0.0.2:${port}` });
      await world.serve('echo', replica('b'), world.transport(), `127.0.0.3:${port}`);
      answer = ['127.0.0.2', '127.0.0.3'];
      world.config.services.echo = { addresses: [`${NAME}:${port}`] };
      caller = createTransport(world.config, silentLogger, { lookup });
      await caller.resolveReplicas();
      const client = caller;
      await client.subscribe('echo', 'echo.news', () => {});

      const load = underLoad(() => client.request('echo', 'echo', {}));
      try {
        await sleep(300);
        expect(served.a).toBeGreaterThan(0);
        expect(proxy.liveConnections).toBeGreaterThan(0);

        answer = ['127.0.0.3'];
        const left = Date.now();
        await eventually(() => expect(proxy.liveConnections).toBe(0), 3_000, 10);
        const closedMs = Date.now() - left;
        const lastOfA = served.a;
        const bBefore = served.b;
        await sleep(300);
        console.log(`${kind}: connections to the replica that left closed ${closedMs} ms after it left DNS`);
        expect(closedMs).toBeLessThan(REFRESH_MS + 1_000);
        expect(served.a).toBe(lastOfA);
        expect(served.b).toBeGreaterThan(bBefore);
        expect(load.failures).toEqual([]); // it still answered every call sent to it
      } finally {
        await load.stop();
        await proxy.close();
      }
    },
  );
});
