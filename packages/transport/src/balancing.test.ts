/**
 * Client-side balancing on the point-to-point transports (endpoints.ts), on real sockets: each
 * call goes to the less loaded of two replicas, so a replica that has turned slow is passed over
 * while its calls are outstanding, rather than getting its equal share as in round robin and
 * holding up every caller it is given. The brokered transports need none of this: their replicas
 * compete for one queue (AMQP) or queue group (NATS), and a slow one simply takes fewer messages;
 * the last case checks that two replicas there both get a share.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestWorld, sleep } from './testing/index.js';
import type { Handlers, TransportKind } from './transport.js';
import { TRANSPORT_KINDS } from './transport.js';
import { TRANSPORTS } from './transports.js';

const CALLS = 400;
const CONCURRENCY = 16;

describe.each<TransportKind>(['http', 'tcp', 'udp'])('balancing over %s', (kind) => {
  let world: TestWorld;
  let served: Record<'fast' | 'slow', number>;

  beforeEach(() => {
    world = new TestWorld(kind);
    served = { fast: 0, slow: 0 };
  });
  afterEach(() => world.close());

  /** Two replicas of `echo`; the second takes `slowMs` over each call. */
  async function replicas(slowMs: number): Promise<void> {
    const fast = await world.serve('echo', { echo: () => void served.fast++ });
    const slow = await world.serve('echo', {
      echo: async () => {
        served.slow++;
        if (slowMs > 0) await sleep(slowMs); // sleep(0) would still wait for a timer, a millisecond
      },
    });
    world.config.services.echo = { listen: fast.address, addresses: [fast.address, slow.address] };
  }

  /**
   * CALLS calls, CONCURRENCY at a time, as a busy caller makes them, counted once its connections
   * are up: calls queued behind a connection still opening count as outstanding too.
   */
  async function load(): Promise<void> {
    const client = world.transport();
    await Promise.all(Array.from({ length: CONCURRENCY }, () => client.request('echo', 'echo', {})));
    served = { fast: 0, slow: 0 };
    let left = CALLS;
    const worker = async () => {
      while (left-- > 0) await client.request('echo', 'echo', {}, { timeoutMs: 10_000 });
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }

  it('sends a replica that has turned slow clearly fewer calls than a fast one', async () => {
    await replicas(50);
    await load();
    console.log(`${kind}: of ${CALLS} calls, ${served.fast} to the fast replica, ${served.slow} to the 50 ms one`);
    expect(served.fast + served.slow).toBe(CALLS);
    // Round robin would give each 200; the slow one gets a call only when the fast one is busier.
    expect(served.slow).toBeLessThan(CALLS * 0.15);
  });

  it('spreads calls over replicas that are alike', async () => {
    await replicas(0);
    await load();
    console.log(`${kind}: of ${CALLS} calls, ${served.fast} and ${served.slow} to two replicas alike`);
    expect(served.fast + served.slow).toBe(CALLS);
    expect(Math.min(served.fast, served.slow)).toBeGreaterThan(CALLS * 0.3);
  });
});

describe.each(TRANSPORT_KINDS.filter((kind) => TRANSPORTS[kind].brokered))('replicas over %s', (kind) => {
  let world: TestWorld;
  beforeEach(() => {
    world = new TestWorld(kind);
  });
  afterEach(() => world.close());

  it('share the load: both replicas serving one queue take calls', async () => {
    const handledBy = { a: 0, b: 0 };
    const replica = (name: 'a' | 'b'): Handlers => ({
      work: async (payload) => {
        handledBy[name]++;
        await sleep(1);
        return payload;
      },
    });
    const a = await world.serve('work', replica('a'));
    const b = await world.serve('work', replica('b'));
    expect(a.address).toBe(b.address); // one queue, not two endpoints
    const client = world.transport();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => client.request('work', 'work', i)));
    replies.forEach((reply, i) => expect(reply).toBe(i));
    expect(handledBy.a + handledBy.b).toBe(200);
    expect(handledBy.a).toBeGreaterThan(20);
    expect(handledBy.b).toBeGreaterThan(20);
  });
});
