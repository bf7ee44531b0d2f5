/**
 * What only AMQP can get wrong, against the real RabbitMQ: a connection the broker drops,
 * poison messages on a request queue (malformed, or redelivered past the delivery limit),
 * replicas competing for one queue, a request waiting in a queue for its server to come
 * back, and a broker that is unreachable for a while (played by a TCP proxy this test stops
 * and starts, so other test files keep their broker).
 */
import net from 'node:net';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError } from '../errors.js';
import type { RoutedTransport } from '../factory.js';
import {
  AMQP_TEST_URL,
  TestWorld,
  closeBrokerConnections,
  deleteByPrefix,
  eventually,
  freePort,
  sleep,
} from '../testing/index.js';
import type { Handlers } from '../transport.js';
import { AmqpTransport } from './index.js';
import { DELIVERY_LIMIT } from './topology.js';

const echo: Handlers = {
  echo: (payload) => payload,
  deadline: (_payload, context) => context.deadline,
  slow: async (payload) => {
    await sleep((payload as { ms: number }).ms);
    return 'slow done';
  },
};

let world: TestWorld;
let raw: ChannelModel;
let channel: Channel;

beforeEach(async () => {
  world = new TestWorld('amqp');
  raw = await connect(AMQP_TEST_URL, { noDelay: true });
  channel = await raw.createChannel();
});

afterEach(async () => {
  await world.close();
  await deleteByPrefix(world.config.amqpPrefix);
  await raw.close();
});

describe('AMQP transport against RabbitMQ', () => {
  it('recovers after the broker drops its connections: callers and servers reconnect', async () => {
    const server = world.transport();
    await world.serve('echo', echo, server);
    const client = world.transport();
    const subscriber = world.transport();
    const events: unknown[] = [];
    await subscriber.subscribe('echo', 'said', (e) => void events.push(e));
    await subscriber.subscribe('echo', 'said', (e) => void events.push({ grouped: e }), { group: 'g' });
    expect(await client.request('echo', 'echo', 'before')).toBe('before');

    // A call in flight when its connection dies fails at once, and may be retried. (It is slow so
    // that it is still running however long rabbitmqctl takes to cut the connection.)
    const inFlight = rejection(client.request('echo', 'slow', { ms: 4_000 }, { timeoutMs: 8_000 }));
    await sleep(100);
    await closeConnection(connectionOf(client));
    const closedAt = Date.now();
    const lost = await inFlight;
    expect(lost.code).toBe('UNAVAILABLE');
    expect(lost.retryable).toBe(true);
    expect(Date.now() - closedAt).toBeLessThan(500);

    // A call made while reconnecting waits for the connection instead of failing.
    expect(await client.request('echo', 'echo', 'during', { timeoutMs: 5_000 })).toBe('during');

    await closeConnection(connectionOf(server));
    await closeConnection(connectionOf(subscriber));
    // The slow request was still unacknowledged when the server's connection was cut: it is
    // redelivered and handled alone (poison protection) before 'after', so allow for its 4 s.
    expect(await client.request('echo', 'echo', 'after', { timeoutMs: 10_000 })).toBe('after');
    // Subscriptions came back too (the ungrouped one on a new queue, so wait for its binding).
    await eventually(
      async () => {
        await client.publish('echo', 'said', 'hello');
        expect(events).toContainEqual('hello');
        expect(events).toContainEqual({ grouped: 'hello' });
      },
      5_000,
      200,
    );
  });

  it('fails fast with UNAVAILABLE naming the broker (without password) when it cannot be reached', async () => {
    const port = await freePort();
    const down = new TestWorld('amqp', { amqpUrl: `amqp://guest:s3cret@127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const err = await rejection(down.transport().request('echo', 'echo', 1, { timeoutMs: 5_000 }));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toContain(`amqp://guest@127.0.0.1:${port}`);
      expect(err.message).not.toContain('s3cret');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await rejection(down.transport().serve('echo', echo))).code).toBe('UNAVAILABLE');
    } finally {
      await down.close();
    }
  });

  it('waits out a broker outage within the deadline, then fails clearly; works again once it is back', async () => {
    const proxy = await tcpProxy(5672);
    const outage = new TestWorld('amqp', {
      amqpUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      amqpPrefix: world.config.amqpPrefix,
      defaultTimeoutMs: 1_000,
    });
    try {
      await world.serve('echo', echo); // on the real broker address: stays up
      const client = outage.transport();
      expect(await client.request('echo', 'echo', 1)).toBe(1);
      await client.publish('echo', 'said', 'before');

      proxy.stop();
      await sleep(100); // the client notices the hang-up
      const call = await rejection(client.request('echo', 'echo', 2, { timeoutMs: 800 }));
      expect(call.code).toBe('UNAVAILABLE');
      expect(call.message).toMatch(/no connection/);
      const started = Date.now();
      const published = await rejection(client.publish('echo', 'said', 'during'));
      expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(published.code);
      expect(Date.now() - started).toBeLessThan(1_500);

      await proxy.start();
      expect(await client.request('echo', 'echo', 3, { timeoutMs: 8_000 })).toBe(3);
      await client.publish('echo', 'said', 'after');
    } finally {
      proxy.stop();
      await outage.close();
    }
  });

  it('dead-letters malformed requests instead of redelivering them, answers those it can, and keeps serving', async () => {
    const listener = await world.serve('echo', echo);
    const queue = listener.address;
    expect(queue).toBe(`${world.config.amqpPrefix}.rpc.echo`);
    const { queue: replies } = await channel.assertQueue('', { exclusive: true });
    const answers: unknown[] = [];
    await channel.consume(replies, (m: ConsumeMessage | null) => m && answers.push(JSON.parse(m.content.toString())), {
      noAck: true,
    });
    const headers = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
    const expiration = '5000'; // the caller's timeout

    channel.sendToQueue(queue, Buffer.from('{"oops'), {
      type: 'echo',
      headers,
      expiration,
      replyTo: replies,
      correlationId: 'a',
    });
    // A garbled trace context is no reason to refuse a call: it starts a new trace.
    channel.sendToQueue(queue, Buffer.from('1'), {
      type: 'echo',
      headers: { traceparent: 'garbage' },
      expiration,
      replyTo: replies,
      correlationId: 'b',
    });
    channel.sendToQueue(queue, Buffer.from('1'), { headers, expiration, replyTo: replies, correlationId: 'c' });
    channel.sendToQueue(queue, Buffer.from('1'), { type: 'echo', headers }); // no timeout, and nobody to tell

    const dead = `${world.config.amqpPrefix}.dead`;
    await eventually(async () => expect((await channel.checkQueue(dead)).messageCount).toBe(3));
    await eventually(() => expect(answers).toHaveLength(3));
    // In any order: the call is answered as soon as its handler returns, the refusals at once.
    expect(answers).toEqual(
      expect.arrayContaining([
        {
          ok: false,
          error: { code: 'INVALID_ARGUMENT', message: 'malformed message: message body is not valid JSON' },
        },
        { ok: true, result: 1 },
        { ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/type property/) } },
      ]),
    );
    await sleep(200); // nothing comes back round: rejected, not requeued
    expect(await channel.checkQueue(queue)).toMatchObject({ messageCount: 0 });
    expect((await channel.checkQueue(dead)).messageCount).toBe(3);
    const first = await channel.get(dead, { noAck: true });
    expect(first && first.properties.headers?.['x-first-death-reason']).toBe('rejected');

    expect(await world.transport().request('echo', 'echo', 'still here')).toBe('still here');
  });

  it('dead-letters oversized requests and malformed or oversized events at once, and keeps serving', async () => {
    const listener = await world.serve('echo', echo);
    const seen: unknown[] = [];
    await world.transport().subscribe('feed', 'post', (e) => void seen.push(e), { group: 'workers' });
    const { queue: replies } = await channel.assertQueue('', { exclusive: true });
    const answers: unknown[] = [];
    await channel.consume(replies, (m: ConsumeMessage | null) => m && answers.push(JSON.parse(m.content.toString())), {
      noAck: true,
    });
    const oversized = Buffer.from(JSON.stringify('x'.repeat(2 ** 20))); // just over the default 1 MiB limit
    channel.sendToQueue(listener.address, oversized, {
      type: 'echo',
      expiration: '5000',
      replyTo: replies,
      correlationId: 'big',
    });
    const events = `${world.config.amqpPrefix}.events`;
    channel.publish(events, 'feed.post', Buffer.from('{"oops'));
    channel.publish(events, 'feed.post', oversized);
    channel.publish(events, 'feed.post', Buffer.from('"no trace context"')); // delivered, in a new trace

    const dead = `${world.config.amqpPrefix}.dead`;
    await eventually(async () => expect((await channel.checkQueue(dead)).messageCount).toBe(3));
    await eventually(() => expect(answers).toHaveLength(1));
    expect(answers[0]).toEqual({
      ok: false,
      error: { code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/over this transport's limit/) },
    });
    await sleep(200); // nothing comes back round: rejected, not requeued
    const group = `${world.config.amqpPrefix}.events.feed.post.workers`;
    expect(await channel.checkQueue(group)).toMatchObject({ messageCount: 0 });
    expect((await channel.checkQueue(dead)).messageCount).toBe(3);
    expect(seen).toEqual(['no trace context']);

    expect(await world.transport().request('echo', 'echo', 'still here')).toBe('still here');
    await world.transport().publish('feed', 'post', 'still here');
    await eventually(() => expect(seen).toEqual(['no trace context', 'still here']));
  });

  it('refuses what AMQP cannot carry without harming the calls sharing its channel', async () => {
    await world.serve('echo', echo);
    const client = world.transport();
    const pending = client.request('echo', 'slow', { ms: 200 });
    const err = await rejection(client.request('echo', 'm'.repeat(300), {}));
    expect(err.code).toBe('INVALID_ARGUMENT');
    // A fractional deadline must not become an expiration the broker refuses (closing the channel).
    expect(await client.request('echo', 'echo', 'ok', { timeoutMs: 1_500.5 })).toBe('ok');
    expect(await pending).toBe('slow done');
  });

  it(`counts redeliveries on its classic request queue: handles a counted one once, and past ${DELIVERY_LIMIT} dead-letters it unhandled and answers INTERNAL`, async () => {
    const handled: unknown[] = [];
    const counting: Handlers = { echo: (payload) => (handled.push(payload), payload) };
    const first = await world.serve('echo', counting);
    const queue = first.address;
    await first.close(); // the queue stays, with nobody consuming it
    const { queue: replies } = await channel.assertQueue('', { exclusive: true });
    const answers = new Map<string, unknown>();
    await channel.consume(
      replies,
      (m: ConsumeMessage | null) =>
        m && answers.set(m.properties.correlationId as string, JSON.parse(m.content.toString())),
      { noAck: true },
    );
    const request = (id: string, redeliveries: number): void => {
      const headers = { 'x-chirp-redeliveries': redeliveries };
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(id)), {
        type: 'echo',
        headers,
        replyTo: replies,
        correlationId: id,
        expiration: '10000',
        timestamp: Date.now(),
      });
    };
    request('again', 2);
    request('poison', DELIVERY_LIMIT);

    // A consumer that dies holding both: the broker hands them out again flagged redelivered.
    const dying = await raw.createChannel();
    let held = 0;
    await dying.consume(queue, () => void held++, { noAck: false });
    await eventually(() => expect(held).toBe(2));
    await dying.close();

    await world.serve('echo', counting);
    await eventually(() => expect(answers.size).toBe(2));
    expect(answers.get('again')).toEqual({ ok: true, result: 'again' });
    expect(answers.get('poison')).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: expect.stringMatching(/dead-lettered/) },
    });
    expect(handled).toEqual(['again']);
    const dead = await channel.get(`${world.config.amqpPrefix}.dead`, { noAck: true });
    expect(dead && JSON.parse(dead.content.toString())).toBe('poison');
    expect(dead && dead.properties.headers).toMatchObject({
      'x-chirp-death-reason': 'delivery_limit',
      'x-chirp-death-queue': queue,
      'x-chirp-redeliveries': DELIVERY_LIMIT + 1,
    });
    await sleep(200); // nothing else comes round: the counted copy was handled once, the original acked
    expect(handled).toEqual(['again']);
    expect(await channel.checkQueue(queue)).toMatchObject({ messageCount: 0 });
  });

  it('dead-letters an event whose handler fails, and acks the others', async () => {
    const publisher = world.transport();
    const seen: unknown[] = [];
    await world.transport().subscribe(
      'feed',
      'post',
      (e) => {
        if (e === 'bad') throw new Error('handler broke');
        seen.push(e);
      },
      { group: 'workers' },
    );
    for (const e of ['a', 'bad', 'b']) await publisher.publish('feed', 'post', e);
    await eventually(() => expect(seen).toEqual(['a', 'b']));
    const dead = `${world.config.amqpPrefix}.dead`;
    await eventually(async () => expect((await channel.checkQueue(dead)).messageCount).toBe(1));
    const group = `${world.config.amqpPrefix}.events.feed.post.workers`;
    expect(await channel.checkQueue(group)).toMatchObject({ messageCount: 0 });
  });

  it('re-creates its queue and consumer when the queue is deleted under it', async () => {
    const listener = await world.serve('echo', echo);
    const client = world.transport();
    expect(await client.request('echo', 'echo', 1)).toBe(1);
    await channel.deleteQueue(listener.address);
    // Until the server has declared it again, a call finds no queue: UNAVAILABLE, retryable.
    expect(await eventually(() => client.request('echo', 'echo', 2), 5_000, 50)).toBe(2);
  });

  it('refuses a subscription to a service whose name holds a wildcard: its binding would take other services’ events', async () => {
    const err = await rejection(world.transport().subscribe('feed.*', 'post.created', () => {}));
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('keeps a request in the queue while its server restarts and answers it within its deadline', async () => {
    const first = await world.serve('echo', echo);
    const client = world.transport();
    expect(await client.request('echo', 'echo', 'warm')).toBe('warm');
    await first.close();

    const started = Date.now();
    const waiting = client.request('echo', 'echo', 'queued', { timeoutMs: 5_000 });
    const deadline = client.request('echo', 'deadline', null, { timeoutMs: 5_000 });
    await eventually(async () =>
      expect(await channel.checkQueue(first.address)).toMatchObject({ messageCount: 2, consumerCount: 0 }),
    );
    await sleep(500);
    await world.serve('echo', echo);
    expect(await waiting).toBe('queued');
    expect(Date.now() - started).toBeLessThan(5_000);
    // The time it sat in the queue (its timestamp) came off the handler's deadline: the caller's, not 5 s from delivery.
    expect(await deadline).toBeGreaterThanOrEqual(started + 4_900);
    expect(await deadline).toBeLessThanOrEqual(started + 5_100);
  });
});

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function connectionOf(transport: RoutedTransport): string {
  const amqp = transport.for('echo');
  if (!(amqp instanceof AmqpTransport)) throw new Error('not an AMQP transport');
  return amqp.connectionName;
}

/** Have the broker close exactly one connection, found by its connection_name. */
async function closeConnection(name: string): Promise<void> {
  // The broker lists a new connection after a moment.
  const closed = await eventually(
    async () => {
      const count = await closeBrokerConnections(name, 'amqp.test.ts: simulated connection loss');
      if (count === 0) throw new Error(`no connection named ${name}`);
      return count;
    },
    5_000,
    100,
  );
  expect(closed).toBe(1);
}

/** A TCP proxy in front of the broker: stop() is a broker outage for whoever connects through it. */
async function tcpProxy(targetPort: number): Promise<{ port: number; start(): Promise<void>; stop(): void }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const start = async (): Promise<void> => {
    server = net.createServer((inbound) => {
      const outbound = net.connect(targetPort, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const stop = (): void => {
    server?.close();
    server = undefined;
    for (const socket of sockets) socket.destroy();
  };
  await start();
  return { port, start, stop };
}
