/**
 * The transport contract, written once and run against all four transports on real
 * sockets and a real RabbitMQ. A transport is done when every case here passes for it.
 * HTTP, TCP and UDP run it a second time with TRANSPORT_SECRET set (every request, frame and
 * datagram signed), since signing changes their wire format.
 * Wire-level abuse (garbage bytes, oversized frames, lost datagrams, a dropped broker
 * connection) is tested per transport next to its code, since each fails differently.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { onward } from './options.js';
import { TestWorld, eventually, sleep, testSecret } from './testing/index.js';
import { rawRequest } from './testing/raw-request.js';
import { parentIdOf, recordSpans, upstream, type ReadableSpan } from './testing/spans.js';
import {
  TRANSPORT_KINDS,
  type CallContext,
  type EventContext,
  type Handlers,
  type TransportKind,
} from './transport.js';

/** Every span this file's transports make, as a service's telemetry would export them. */
const recorded = recordSpans();

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
  ['http (TRANSPORT_SECRET set)', { kind: 'http', secret: testSecret() }],
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

  it('delivers by pattern the same way on every transport: * is one word, # any number, the topic as published', async () => {
    const publisher = world.transport();
    await world.serve('feed', echo, publisher);
    const got = { star: [] as string[], hash: [] as string[], grouped: [] as string[] };
    const into = (list: string[]) => (_event: unknown, context: EventContext) => void list.push(context.topic);
    await world.transport().subscribe('feed', 'post.*', into(got.star));
    await world.transport().subscribe('feed', 'post.#', into(got.hash));
    await world.transport().subscribe('feed', '*.deleted', into(got.grouped), { group: 'cleaners' });
    await world.transport().subscribe('feed', '*.deleted', into(got.grouped), { group: 'cleaners' });

    const topics = ['post.created', 'post', 'post.deleted', 'post.edit.undone', 'user.deleted', 'posts.created'];
    for (const topic of topics) await publisher.publish('feed', topic, { topic });

    await eventually(() => {
      expect(got.star.sort()).toEqual(['post.created', 'post.deleted']);
      expect(got.hash.sort()).toEqual(['post', 'post.created', 'post.deleted', 'post.edit.undone']);
      expect(got.grouped.sort()).toEqual(['post.deleted', 'user.deleted']); // once each, for the group
    });
    await sleep(100); // and nothing more
    expect([got.star.length, got.hash.length, got.grouped.length]).toEqual([2, 4, 2]);
    const wildcard = await rejection(publisher.publish('feed', 'post.*', {}));
    expect(wildcard.code).toBe('INVALID_ARGUMENT');
  });

  it('delivers each event once to a subscriber whose first try came before the publisher was up', async () => {
    const publisher = world.transport();
    const subscriber = world.transport();
    await world.unreachable('feed');
    const early: unknown[] = [];
    // Socket transports register with the publisher: nobody is there yet, so this fails (AMQP
    // subscribes at the broker and succeeds: then it is closed, as a caller that gave up would).
    const first = await subscriber.subscribe('feed', 'news', (event) => void early.push(event)).catch(() => undefined);
    await first?.close();
    // The publisher comes up where the subscriber first knocked, as a service starting later does.
    await world.serve('feed', {}, publisher, kind === 'amqp' ? '127.0.0.1:0' : world.config.services.feed!.listen);
    const seen: unknown[] = [];
    await eventually(() => subscriber.subscribe('feed', 'news', (event) => void seen.push(event)), 8_000, 100);
    await sleep(300); // a forgotten copy of the first try would re-register by now
    await publisher.publish('feed', 'news', { n: 1 });
    await eventually(() => expect(seen).toEqual([{ n: 1 }]));
    await sleep(200);
    expect(seen).toEqual([{ n: 1 }]);
    expect(early).toEqual([]);
  });

  it('makes the caller’s span the parent of the handler’s, and the handler’s the parent of its next call', async () => {
    await world.serve('second', { hop: () => 'done' });
    const middle = world.transport();
    await world.serve(
      'first',
      { hop: (_payload, context) => middle.request('second', 'hop', {}, onward(context)) },
      middle,
    );
    const parent = upstream();
    const traceId = trace.getSpanContext(parent)!.traceId;
    expect(await world.transport().request('first', 'hop', {}, { parent })).toBe('done');

    const spans = await eventually(() => {
      const found = recorded.ofTrace(traceId);
      expect(found).toHaveLength(4);
      return found;
    });
    const span = (name: string, kind: SpanKind) => spans.find((s) => s.name === name && s.kind === kind)!;
    const [callFirst, serveFirst] = [span('first/hop', SpanKind.CLIENT), span('first/hop', SpanKind.SERVER)];
    const [callSecond, serveSecond] = [span('second/hop', SpanKind.CLIENT), span('second/hop', SpanKind.SERVER)];
    expect(parentIdOf(callFirst)).toBe(trace.getSpanContext(parent)!.spanId);
    expect(parentIdOf(serveFirst)).toBe(callFirst.spanContext().spanId);
    expect(parentIdOf(callSecond)).toBe(serveFirst.spanContext().spanId);
    expect(parentIdOf(serveSecond)).toBe(callSecond.spanContext().spanId);
    for (const s of spans) {
      expect(s.attributes).toMatchObject({ 'chirp.transport': kind, 'rpc.system': 'chirp' });
      expect(s.attributes['rpc.response.status_code']).toBe('OK');
    }
    expect(serveFirst.attributes).toMatchObject({ 'rpc.service': 'first', 'rpc.method': 'hop' });
  });

  it('makes each delivery of an event a child of its publish, in the publisher’s trace', async () => {
    const publisher = world.transport();
    await world.serve('feed', {}, publisher);
    const traceIds: string[] = [];
    await world.transport().subscribe('feed', 'news', (_event, context) => void traceIds.push(context.traceId));
    const parent = upstream();
    const traceId = trace.getSpanContext(parent)!.traceId;
    await publisher.publish('feed', 'news', { n: 1 }, { parent });

    const [publish, process] = await eventually(() => {
      const found = recorded.ofTrace(traceId);
      const pair = [found.find((s) => s.kind === SpanKind.PRODUCER), found.find((s) => s.kind === SpanKind.CONSUMER)];
      expect(pair).toEqual([expect.anything(), expect.anything()]);
      return pair as [ReadableSpan, ReadableSpan];
    });
    expect(traceIds).toEqual([traceId]);
    expect(publish.name).toBe('publish news');
    expect(parentIdOf(publish)).toBe(trace.getSpanContext(parent)!.spanId);
    expect(process.name).toBe('process news');
    expect(parentIdOf(process)).toBe(publish.spanContext().spanId);
    expect(process.attributes).toMatchObject({ 'messaging.destination.name': 'feed.news', 'chirp.transport': kind });
  });

  it.skipIf(secret !== undefined)(
    'starts a new trace for a malformed or missing traceparent, and joins a well-formed one',
    async () => {
      await world.serve('echo', echo);
      const contextOf = async (traceFields: Record<string, string>) => {
        const reply = await rawRequest(world, 'echo', 'context', {}, traceFields);
        expect(reply.ok).toBe(true);
        return (reply as { result: CallContext }).result.traceId;
      };
      const zeros = `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`;
      const malformed: Array<Record<string, string>> = [
        {},
        { traceparent: 'garbage' },
        { traceparent: zeros },
        { traceparent: '00-abc', tracestate: '=' },
      ];
      const fresh = await Promise.all(malformed.map(contextOf));
      for (const traceId of fresh) expect(traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
      expect(new Set(fresh).size).toBe(fresh.length);

      const traceId = 'abcdef0123456789abcdef0123456789';
      expect(await contextOf({ traceparent: `00-${traceId}-0123456789abcdef-01`, tracestate: 'vendor=1' })).toBe(
        traceId,
      );
      const served = await eventually(() => {
        const span = recorded.ofTrace(traceId).find((s) => s.kind === SpanKind.SERVER);
        expect(span).toBeDefined();
        return span!;
      });
      expect(parentIdOf(served)).toBe('0123456789abcdef');
      expect(served.spanContext().traceState?.get('vendor')).toBe('1');
    },
  );

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

  it('closes in order: stops taking calls, lets in-flight handlers finish their own onward calls, then its clients', async () => {
    await world.serve('echo', echo);
    const middle = world.transport();
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    await world.serve(
      'relay',
      {
        relay: async (_payload, context) => {
          handlerStarted();
          await sleep(300); // the transport starts closing meanwhile
          return middle.request('echo', 'echo', 'onward', { parent: context.trace });
        },
      },
      middle,
    );
    const client = world.transport();
    const call = client.request('relay', 'relay', {}, { timeoutMs: 5_000 });
    await started;
    const closing = middle.close();
    expect(await call).toBe('onward');
    await closing;

    // Closed: its own calls fail at once, and it serves nobody.
    expect((await rejection(middle.request('echo', 'echo', 'late'))).code).toBe('UNAVAILABLE');
    const after = await rejection(client.request('relay', 'relay', {}, { timeoutMs: 500 }));
    expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(after.code);
  });
});
