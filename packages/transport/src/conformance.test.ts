/**
 * The transport contract, written once and run against all four transports on real
 * sockets and a real RabbitMQ. A transport is done when every case here passes for it.
 * TCP and UDP run it a second time with TRANSPORT_SECRET set (every frame and datagram
 * signed), since signing changes their wire format.
 * Wire-level abuse (garbage bytes, oversized frames, lost datagrams, a dropped broker
 * connection) is tested per transport next to its code, since each fails differently.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { TestWorld, eventually, sleep, testSecret } from './testing/index.js';
import { TRANSPORT_KINDS, type CallContext, type Handlers, type TransportKind } from './transport.js';

const echo: Handlers = {
  echo: (payload) => payload,
  fail: (payload) => {
    const { code, message } = payload as { code: 'NOT_FOUND'; message: string };
    throw new TransportError(code, message);
  },
  crash: () => {
    throw new Error('database password is hunter2');
  },
  slow: async (payload) => {
    await sleep((payload as { ms: number }).ms);
    return 'finally';
  },
  context: (_payload, context) => context,
};

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const CASES: Array<[name: string, { kind: TransportKind; secret?: string }]> = [
  ...TRANSPORT_KINDS.map((kind): [string, { kind: TransportKind }] => [kind, { kind }]),
  ['tcp (TRANSPORT_SECRET set)', { kind: 'tcp', secret: testSecret() }],
  ['udp (TRANSPORT_SECRET set)', { kind: 'udp', secret: testSecret() }],
];

describe.each(CASES)('%s transport', (_name, { kind, secret }) => {
  let world: TestWorld;

  beforeEach(() => {
    world = new TestWorld(kind, secret === undefined ? {} : { secret });
  });
  afterEach(async () => {
    await world.close();
  });

  it('round-trips a request and its reply unchanged', async () => {
    await world.serve('echo', echo);
    const client = world.transport();
    const payload = { text: 'héllo 🐦 wörld', n: 141, nested: { list: [1, null, true, 'x'] } };
    expect(await client.request('echo', 'echo', payload)).toEqual(payload);
    expect(await client.request('echo', 'echo', 'just a string')).toBe('just a string');
    expect(await client.request('echo', 'echo', [])).toEqual([]);
  });

  it("delivers a handler's typed error with the same code and message", async () => {
    await world.serve('echo', echo);
    const client = world.transport();
    const err = await rejection(client.request('echo', 'fail', { code: 'NOT_FOUND', message: 'no post 42' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('no post 42');
    expect(err.retryable).toBe(false);
  });

  it('turns an unexpected handler failure into INTERNAL without leaking its message', async () => {
    await world.serve('echo', echo);
    const err = await rejection(world.transport().request('echo', 'crash', {}));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).not.toContain('hunter2');
  });

  it('gives DEADLINE_EXCEEDED on the caller when the handler is slower than the deadline', async () => {
    await world.serve('echo', echo);
    const client = world.transport();
    const started = Date.now();
    const err = await rejection(client.request('echo', 'slow', { ms: 3_000 }, { timeoutMs: 300 }));
    const elapsed = Date.now() - started;
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(300 + 400);
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    await world.serve('echo', echo);
    const err = await rejection(world.transport().request('echo', 'nope', {}));
    expect(err.code).toBe('UNIMPLEMENTED');
    expect(err.message).toContain('nope');
  });

  it('fails promptly with UNAVAILABLE when nobody serves the service', async () => {
    await world.unreachable('ghost');
    const client = world.transport();
    const started = Date.now();
    const err = await rejection(client.request('ghost', 'echo', {}, { timeoutMs: 4_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('answers 1,000 concurrent requests correctly, with no cross-talk', async () => {
    await world.serve('math', {
      double: async (payload) => {
        const { i } = payload as { i: number };
        await sleep(i % 7); // finish out of order
        return { i, doubled: i * 2 };
      },
    });
    const client = world.transport();
    const replies = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => client.request('math', 'double', { i }, { timeoutMs: 20_000 })),
    );
    replies.forEach((reply, i) => expect(reply).toEqual({ i, doubled: i * 2 }));
  });

  it("carries a payload at the transport's limit and refuses one over it, then keeps serving", async () => {
    await world.serve('echo', echo);
    const client = world.transport();
    const limit = world.config.maxMessageBytes[kind];
    const atLimit = 'x'.repeat(limit - 1_024); // the envelope takes the rest
    expect(await client.request('echo', 'echo', atLimit, { timeoutMs: 10_000 })).toBe(atLimit);
    const err = await rejection(client.request('echo', 'echo', 'x'.repeat(limit + 1)));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toMatch(/limit|large|exceeds/i);
    expect(await client.request('echo', 'echo', 'still here')).toBe('still here');
  });

  it('delivers an event to every subscriber, and to exactly one member of a group', async () => {
    const publisher = world.transport();
    await world.serve('feed', echo, publisher);
    const seen = { a: [] as unknown[], b: [] as unknown[], g1: [] as unknown[], g2: [] as unknown[] };
    await world.transport().subscribe('feed', 'post.created', (e) => void seen.a.push(e));
    await world.transport().subscribe('feed', 'post.created', (e) => void seen.b.push(e));
    await world.transport().subscribe('feed', 'post.created', (e) => void seen.g1.push(e), { group: 'workers' });
    await world.transport().subscribe('feed', 'post.created', (e) => void seen.g2.push(e), { group: 'workers' });
    await world.transport().subscribe('feed', 'other.topic', () => {
      throw new Error('an event on another topic must not arrive here');
    });

    for (let n = 0; n < 10; n++) await publisher.publish('feed', 'post.created', { n });

    const all = Array.from({ length: 10 }, (_, n) => ({ n }));
    await eventually(() => {
      expect(seen.a).toEqual(expect.arrayContaining(all));
      expect(seen.b).toEqual(expect.arrayContaining(all));
      expect([...seen.g1, ...seen.g2]).toHaveLength(10);
    });
    await sleep(100); // nothing more arrives: no duplicates within the group
    expect(seen.a).toHaveLength(10);
    expect(seen.b).toHaveLength(10);
    expect([...seen.g1, ...seen.g2]).toEqual(expect.arrayContaining(all));
    expect([...seen.g1, ...seen.g2]).toHaveLength(10);
  });

  it('carries the trace id to the handler and one hop further', async () => {
    const seenBy: Record<string, string> = {};
    await world.serve('second', {
      hop: (_payload, context) => {
        seenBy.second = context.traceId;
        return 'done';
      },
    });
    const middle = world.transport();
    await world.serve(
      'first',
      {
        hop: async (_payload, context) => {
          seenBy.first = context.traceId;
          return middle.request(
            'second',
            'hop',
            {},
            { traceId: context.traceId, timeoutMs: context.deadline - Date.now() },
          );
        },
      },
      middle,
    );
    const client = world.transport();
    expect(await client.request('first', 'hop', {}, { traceId: 'trace-0123456789abcdef' })).toBe('done');
    expect(seenBy).toEqual({ first: 'trace-0123456789abcdef', second: 'trace-0123456789abcdef' });
  });

  it('gives the handler its call context: service, method, a fresh trace id and the deadline', async () => {
    await world.serve('echo', echo);
    const before = Date.now();
    const context = (await world.transport().request('echo', 'context', {}, { timeoutMs: 2_000 })) as CallContext;
    expect(context).toMatchObject({ service: 'echo', method: 'context', transport: kind });
    expect(context.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(context.deadline).toBeGreaterThanOrEqual(before + 1_900);
    expect(context.deadline).toBeLessThanOrEqual(Date.now() + 2_100);
  });

  it('recovers when the server restarts', async () => {
    const first = await world.serve('echo', echo);
    const client = world.transport();
    expect(await client.request('echo', 'echo', 1)).toBe(1);
    const address = first.address;
    await first.close();

    const whileDown = await rejection(client.request('echo', 'echo', 2, { timeoutMs: 500 }));
    expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(whileDown.code);

    await world.serve('echo', echo, world.transport(), kind === 'amqp' ? '127.0.0.1:0' : address);
    const reply = await eventually(() => client.request('echo', 'echo', 3, { timeoutMs: 500 }), 8_000, 100);
    expect(reply).toBe(3);
  });
});
