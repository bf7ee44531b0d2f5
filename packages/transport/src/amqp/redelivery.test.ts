/**
 * The redelivery count of classic request queues (redelivery.ts), against the real RabbitMQ:
 * what the counted copy of a message keeps and changes, and where it goes past the limit.
 * The consumer that uses it is tested in amqp.test.ts and, with real crashes, in
 * tests/src/poison.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { AMQP_TEST_URL, deleteByPrefix } from '../testing/index.js';
import { AmqpConnection } from './connection.js';
import { HEADER_DEATH_QUEUE, HEADER_DEATH_REASON, HEADER_REDELIVERIES, RedeliveryCounter } from './redelivery.js';
import { DELIVERY_LIMIT, Topology } from './topology.js';

let topology: Topology;
let connection: AmqpConnection;
let counter: RedeliveryCounter;
let raw: ChannelModel;
let channel: Channel;
let queue: string;

beforeEach(async () => {
  topology = new Topology(`test-${randomBytes(4).toString('hex')}`);
  connection = new AmqpConnection(AMQP_TEST_URL, topology.prefix, silentLogger);
  counter = new RedeliveryCounter(connection, topology.deadLetterExchange);
  raw = await connect(AMQP_TEST_URL);
  channel = await raw.createChannel();
  queue = await topology.declareRequestQueue(channel, 'counted');
});

afterEach(async () => {
  await counter.close();
  await connection.close();
  await deleteByPrefix(topology.prefix);
  await raw.close();
});

/** Publish a request as the client does and take it off the queue, as a consumer would receive it. */
async function received(
  headers: Record<string, unknown>,
  { expiration, timestamp }: { expiration?: string; timestamp?: number } = { expiration: '10000' },
): Promise<GetMessage> {
  channel.sendToQueue(queue, Buffer.from('{"n":1}'), {
    type: 'echo',
    correlationId: 'call-1',
    replyTo: 'amq.rabbitmq.reply-to.somebody',
    contentType: 'application/json',
    expiration,
    timestamp,
    headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, ...headers },
  });
  return take(queue);
}

async function take(from: string): Promise<GetMessage> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const message = await channel.get(from, { noAck: true });
    if (message !== false) return message;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing arrived in ${from}`);
}

it('puts a copy back in the queue with the count raised, every property kept, and what is left of the deadline', async () => {
  const sentAt = Date.now() - 4_000; // queued for 4 s of its 10 s
  const original = await received({ [HEADER_REDELIVERIES]: 2 }, { expiration: '10000', timestamp: sentAt });

  const now = sentAt + 4_000;
  expect(await counter.recount(queue, original, now)).toBe('requeued');
  const copy = await take(queue);
  expect(copy.content.toString()).toBe('{"n":1}');
  expect(copy.properties).toMatchObject({
    type: 'echo',
    correlationId: 'call-1',
    replyTo: 'amq.rabbitmq.reply-to.somebody',
    contentType: 'application/json',
    expiration: '6000',
    timestamp: now,
    headers: { traceparent: original.properties.headers?.traceparent, [HEADER_REDELIVERIES]: 3 },
  });
  expect(copy.properties.deliveryMode).not.toBe(2); // transient, like the request
});

it('counts a first redelivery as 1; a request without a send time gets its whole timeout again', async () => {
  const original = await received({}, { expiration: '7000' });
  expect(await counter.recount(queue, original)).toBe('requeued');
  const copy = await take(queue);
  expect(copy.properties.headers?.[HEADER_REDELIVERIES]).toBe(1);
  expect(copy.properties.expiration).toBe('7000');
});

it('gives a message that is not a request (an event: no expiration) none', async () => {
  const original = await received({}, {});
  expect(await counter.recount(queue, original)).toBe('requeued');
  expect((await take(queue)).properties).toMatchObject({ expiration: undefined, timestamp: undefined });
});

it(`dead-letters past ${DELIVERY_LIMIT} redeliveries, saying why and from where, without an expiration`, async () => {
  await topology.declareDeadLetters(channel);
  const original = await received(
    { [HEADER_REDELIVERIES]: DELIVERY_LIMIT },
    { expiration: '10000', timestamp: Date.now() },
  );

  expect(await counter.recount(queue, original)).toBe('dead-lettered');
  const dead = await take(topology.deadLetterQueue);
  expect(dead.content.toString()).toBe('{"n":1}');
  expect(dead.properties.expiration).toBeUndefined();
  expect(dead.properties).toMatchObject({ type: 'echo', correlationId: 'call-1' });
  expect(dead.properties.headers).toMatchObject({
    [HEADER_DEATH_REASON]: 'delivery_limit',
    [HEADER_DEATH_QUEUE]: queue,
    [HEADER_REDELIVERIES]: DELIVERY_LIMIT + 1,
  });
  expect((await channel.checkQueue(queue)).messageCount).toBe(0);
});
