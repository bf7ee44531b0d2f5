/**
 * What only NATS can get wrong, against the real server: its max_payload, garbage on a service's
 * subject from a client that ignores our headers, replicas sharing one queue group, a server that
 * cannot be reached, and a connection cut and restored (a TcpProxy between the transport and the
 * server, so that other test files keep theirs).
 */
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoutedTransport } from '../factory.js';
import { NATS_TEST_URL, TcpProxy, TestWorld, eventually, failure, freePort, sleep } from '../testing/index.js';
import type { EventContext, Handlers } from '../transport.js';
import { NatsTransport } from './index.js';
import { HEADER_METHOD, HEADER_TIMEOUT_MS } from './wire.js';

const echo: Handlers = {
  echo: (payload) => payload,
  slow: async (payload) => {
    await sleep((payload as { ms: number }).ms);
    return 'slow done';
  },
  inflate: (payload) => 'x'.repeat(payload as number),
};

/** Where the proxy relays to: the test server's `host:port`. */
const SERVER = new URL(NATS_TEST_URL.split(',')[0]!).host;

let world: TestWorld;
let raw: NatsConnection;

beforeEach(async () => {
  world = new TestWorld('nats');
  raw = await connect({ servers: NATS_TEST_URL });
});

afterEach(async () => {
  await world.close();
  await raw.close();
});

describe('NATS transport against a NATS server', () => {
  it("refuses a request, reply or event over the server's max_payload before sending it, and keeps serving", async () => {
    const maxPayload = raw.info!.max_payload;
    const proxy = await TcpProxy.start({ target: SERVER });
    // Our own limit set far above the server's: the server's is the one that counts.
    const big = new TestWorld('nats', {
      natsUrl: `nats://${proxy.address}`,
      natsPrefix: world.config.natsPrefix,
      maxMessageBytes: { ...world.config.maxMessageBytes, nats: 8 * maxPayload },
    });
    try {
      const server = big.transport();
      await big.serve('echo', echo, server);
      const client = big.transport();
      expect(await client.request('echo', 'echo', 'warm')).toBe('warm');
      expect(natsOf(client).maxMessageBytes).toBe(maxPayload);

      const sentBefore = proxy.stats.bytesToServer;
      const tooBig = await failure(client.request('echo', 'echo', 'x'.repeat(maxPayload)));
      expect(tooBig.code).toBe('RESOURCE_EXHAUSTED');
      expect(tooBig.message).toMatch(/limit of \d+ bytes/);
      // Within the limit alone, over it with its headers: refused too.
      const withHeaders = await failure(client.request('echo', 'echo', 'x'.repeat(maxPayload - 10)));
      expect(withHeaders.code).toBe('RESOURCE_EXHAUSTED');
      expect(withHeaders.message).toMatch(/max_payload/);
      const event = await failure(client.publish('echo', 'said', 'x'.repeat(maxPayload)));
      expect(event.code).toBe('RESOURCE_EXHAUSTED');
      // Nothing of them went out (a ping or two may have), so the server had no cause to hang up.
      expect(proxy.stats.bytesToServer - sentBefore).toBeLessThan(1_024);

      const reply = await failure(client.request('echo', 'inflate', maxPayload));
      expect(reply.code).toBe('RESOURCE_EXHAUSTED');
      expect(reply.message).toMatch(/reply to echo\.inflate .* over this transport's limit/);

      expect(await client.request('echo', 'echo', 'still here')).toBe('still here');
      expect(natsOf(client).counters()).toMatchObject({ refused: 3, disconnects: 0 });
      expect(natsOf(server).counters()).toMatchObject({ refused: 1, disconnects: 0 });
    } finally {
      await big.close();
      await proxy.close();
    }
  });

  it('answers garbage on a service subject with an error reply, drops garbage events, and keeps serving', async () => {
    const small = new TestWorld('nats', {
      natsPrefix: world.config.natsPrefix,
      maxMessageBytes: { ...world.config.maxMessageBytes, nats: 64 * 1024 },
    });
    try {
      const listener = await small.serve('echo', echo);
      expect(listener.address).toBe(`${world.config.natsPrefix}.rpc.echo`);
      const seen: unknown[] = [];
      await small.transport().subscribe('feed', 'post.created', (e) => void seen.push(e));
      const good = { [HEADER_METHOD]: 'echo', [HEADER_TIMEOUT_MS]: '5000' };
      const ask = async (body: string, fields?: Record<string, string>): Promise<unknown> => {
        const options = { timeout: 2_000, ...(fields === undefined ? {} : { headers: headersOf(fields) }) };
        return (await raw.request(listener.address, body, options)).json();
      };
      const refusal = (code: string, message: RegExp | string) => ({
        ok: false,
        error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) },
      });

      expect(await ask('{"oops', good)).toEqual(
        refusal('INVALID_ARGUMENT', 'malformed message: message body is not valid JSON'),
      );
      expect(await ask('1')).toEqual(refusal('INVALID_ARGUMENT', /Chirp-Method/));
      expect(await ask('1', { ...good, [HEADER_METHOD]: 'nope' })).toEqual(refusal('UNIMPLEMENTED', /nope/));
      expect(await ask('1', { ...good, [HEADER_TIMEOUT_MS]: 'soon' })).toEqual(refusal('INVALID_ARGUMENT', /Timeout/));
      expect(await ask(JSON.stringify('x'.repeat(100_000)), good)).toEqual(
        refusal('RESOURCE_EXHAUSTED', /over this transport's limit/),
      );
      // Header names in any case; a garbled trace context is no reason to refuse a call (a new trace).
      expect(await ask('1', { 'chirp-method': 'echo', 'chirp-timeout-ms': '5000', traceparent: 'garbage' })).toEqual({
        ok: true,
        result: 1,
      });
      // Nobody to answer: nothing sent back, nothing broken.
      raw.publish(listener.address, '{"oops');
      raw.publish(`${world.config.natsPrefix}.events.feed.post.created`, '{"oops');
      raw.publish(`${world.config.natsPrefix}.events.feed.post.created`, '"no trace context"');

      await eventually(() => expect(seen).toEqual(['no trace context']));
      const client = small.transport();
      expect(await client.request('echo', 'echo', 'still here')).toBe('still here');
      await client.publish('feed', 'post.created', 'still here');
      await eventually(() => expect(seen).toEqual(['no trace context', 'still here']));
    } finally {
      await small.close();
    }
  });

  it('refuses names that are not subject tokens, which would mean something else to NATS', async () => {
    const client = world.transport();
    expect((await failure(client.subscribe('feed', 'post.>', () => {}))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(client.subscribe('feed', 'po*st', () => {}))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(client.subscribe('feed.*', 'post', () => {}))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(client.subscribe('feed', 'post', () => {}, { group: 'two words' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await failure(client.publish('feed', 'post..created', {}))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(client.request('my service', 'echo', {}))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(client.request('echo', 'line\nbreak', {}))).code).toBe('INVALID_ARGUMENT');
  });

  it('keeps groups of one name on overlapping patterns apart, and filters what a # in the middle does not take', async () => {
    const publisher = world.transport();
    const got = { exact: [] as string[], star: [] as string[], middle: [] as string[] };
    const into = (list: string[]) => (_event: unknown, context: EventContext) => void list.push(context.topic);
    // NATS would hand each event to one member of queue group "g" across both subjects.
    await world.transport().subscribe('feed', 'post.created', into(got.exact), { group: 'g' });
    await world.transport().subscribe('feed', 'post.*', into(got.star), { group: 'g' });
    // Listens on feed.post.> and feed.post, and keeps only what ends in .done.
    await world.transport().subscribe('feed', 'post.#.done', into(got.middle), { group: 'g' });
    for (const topic of ['post.created', 'post.created', 'post.done', 'post.edit.done', 'post.edit']) {
      await publisher.publish('feed', topic, {});
    }
    await eventually(() => {
      expect(got.exact).toEqual(['post.created', 'post.created']);
      expect(got.star.sort()).toEqual(['post.created', 'post.created', 'post.done', 'post.edit']);
      expect(got.middle.sort()).toEqual(['post.done', 'post.edit.done']);
    });
  });

  it('fails fast with UNAVAILABLE naming the server (without password) when it cannot be reached', async () => {
    const port = await freePort();
    const down = new TestWorld('nats', { natsUrl: `nats://chirp:s3cret@127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const err = await failure(down.transport().request('echo', 'echo', 1, { timeoutMs: 5_000 }));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toContain(`nats://chirp@127.0.0.1:${port}`);
      expect(err.message).not.toContain('s3cret');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await failure(down.transport().serve('echo', echo))).code).toBe('UNAVAILABLE');
    } finally {
      await down.close();
    }
  });

  it('rides out a cut connection: calls fail within their deadline meanwhile, and work again once it is back', async () => {
    const proxy = await TcpProxy.start({ target: SERVER });
    const cut = new TestWorld('nats', {
      natsUrl: `nats://${proxy.address}`,
      natsPrefix: world.config.natsPrefix,
      defaultTimeoutMs: 1_000, // what a publish waits for the connection
    });
    try {
      await world.serve('steady', echo); // connected directly: stays up throughout
      const outside = world.transport();
      await cut.serve('echo', echo);
      const client = cut.transport();
      const subscriber = cut.transport();
      const events: unknown[] = [];
      const grouped: unknown[] = [];
      await subscriber.subscribe('feed', 'post.created', (e) => void events.push(e));
      await subscriber.subscribe('feed', 'post.created', (e) => void grouped.push(e), { group: 'workers' });
      expect(await client.request('echo', 'echo', 'before')).toBe('before');
      await outside.publish('feed', 'post.created', 'before');
      await eventually(() => expect([events, grouped]).toEqual([['before'], ['before']]));

      const inFlight = failure(client.request('steady', 'slow', { ms: 2_000 }, { timeoutMs: 8_000 }));
      await sleep(100);
      await proxy.setBlackout('refuse'); // the server is gone, and stays gone for now
      proxy.resetAll();
      const cutAt = Date.now();
      // A call in flight when the connection goes fails at once, not at its deadline.
      const lost = await inFlight;
      expect(lost.code).toBe('UNAVAILABLE');
      expect(Date.now() - cutAt).toBeLessThan(1_000);

      // One made during the cut waits for the connection within its deadline, then fails.
      const started = Date.now();
      const during = await failure(client.request('steady', 'echo', 'during', { timeoutMs: 500 }));
      expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(during.code);
      expect(Date.now() - started).toBeGreaterThanOrEqual(490);
      expect(Date.now() - started).toBeLessThan(500 + 300);
      const publishStarted = Date.now();
      const publishing = await failure(client.publish('feed', 'post.created', 'during'));
      expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(publishing.code);
      expect(Date.now() - publishStarted).toBeLessThan(1_000 + 300);
      // From outside, the service behind the cut is simply not there.
      await eventually(async () => {
        const gone = await failure(outside.request('echo', 'echo', 'x', { timeoutMs: 500 }));
        expect(gone.code).toBe('UNAVAILABLE');
      });

      // One with time to spare goes through once the connection is back.
      const waiting = client.request('steady', 'echo', 'waited', { timeoutMs: 8_000 });
      await sleep(500);
      await proxy.setBlackout('none');
      expect(await waiting).toBe('waited');

      // Its served service and subscriptions are back too, with nothing restarted.
      expect(await eventually(() => outside.request('echo', 'echo', 'after', { timeoutMs: 1_000 }), 8_000, 100)).toBe(
        'after',
      );
      expect(await client.request('echo', 'echo', 'after')).toBe('after');
      await eventually(
        async () => {
          await outside.publish('feed', 'post.created', 'after');
          expect(events).toContain('after');
          expect(grouped).toContain('after');
        },
        8_000,
        200,
      );
      expect(natsOf(client).counters()).toMatchObject({ disconnects: 1, reconnects: 1 });
    } finally {
      await cut.close();
      await proxy.close();
    }
  });
});

function natsOf(transport: RoutedTransport): NatsTransport {
  const nats = transport.for('echo');
  if (!(nats instanceof NatsTransport)) throw new Error('not a NATS transport');
  return nats;
}

function headersOf(fields: Record<string, string>): ReturnType<typeof headers> {
  const h = headers();
  for (const [name, value] of Object.entries(fields)) h.set(name, value);
  return h;
}
