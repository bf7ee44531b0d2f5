/**
 * coalesceWrites against a real broker: what one tick publishes leaves in a handful of socket
 * writes instead of one per message, and arrives whole and in order; and the AMQP transport's
 * connections are made that way.
 */
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { connect, type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { AMQP_TEST_URL, TestWorld, deleteByPrefix, eventually } from '../testing/index.js';
import { coalesceWrites } from './writes.js';

const MESSAGES = 40;
const open: ChannelModel[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((model) => model.close()));
});

/** Publish MESSAGES to a fresh queue in one tick, see them all arrive in order: how many writes the socket took. */
async function publishInOneTick(coalesce: boolean): Promise<number> {
  const model = await connect(AMQP_TEST_URL, { noDelay: true });
  open.push(model);
  if (coalesce) expect(coalesceWrites(model)).toBe(true);
  const channel = await model.createChannel();
  const queue = `test-${randomUUID()}`;
  await channel.assertQueue(queue, { exclusive: true });
  const received: string[] = [];
  await channel.consume(queue, (message) => message && received.push(message.content.toString()), { noAck: true });

  // Every write the connection makes reaches the socket through _write (one chunk) or _writev (several).
  const socket = (model.connection as unknown as { stream: Writable & { _writev?: Writable['_writev'] } }).stream;
  let writes = 0;
  const write = socket._write.bind(socket);
  const writev = socket._writev?.bind(socket);
  socket._write = (...args) => (writes++, write(...args));
  if (writev) socket._writev = (...args) => (writes++, writev(...args));

  const sent = Array.from({ length: MESSAGES }, (_, i) => `message ${i}`);
  for (const text of sent) channel.publish('', queue, Buffer.from(text));
  await eventually(() => expect(received).toHaveLength(MESSAGES));
  expect(received).toEqual(sent);
  return writes;
}

describe('coalesceWrites', () => {
  it('sends what one tick publishes in a few socket writes, each message whole and in order', async () => {
    expect(await publishInOneTick(false)).toBeGreaterThanOrEqual(MESSAGES); // amqplib alone: a write per message
    const coalesced = await publishInOneTick(true);
    expect(coalesced).toBeGreaterThanOrEqual(1);
    expect(coalesced).toBeLessThanOrEqual(3);
  });
});

describe('the AMQP transport', () => {
  it('makes 40 calls started in one tick with a few socket writes, not one per request, reply and ack', async () => {
    const world = new TestWorld('amqp');
    try {
      await world.serve('echo', { echo: (payload) => payload });
      const client = world.transport();
      expect(await client.request('echo', 'echo', 'warm')).toBe('warm'); // connections and channels open

      // Every socket write in this process, client's and server's, goes through one of these two.
      const { _write: write, _writev: writev } = Socket.prototype;
      let writes = 0;
      Socket.prototype._write = function (...args) {
        writes++;
        return write.apply(this, args);
      };
      Socket.prototype._writev = function (...args) {
        writes++;
        return writev!.apply(this, args);
      };
      try {
        const calls = Array.from({ length: MESSAGES }, (_, i) => client.request('echo', 'echo', i));
        expect(await Promise.all(calls)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
      } finally {
        Object.assign(Socket.prototype, { _write: write, _writev: writev });
      }
      // A write each would be 120: 40 requests, 40 replies, 40 acks.
      expect(writes).toBeGreaterThanOrEqual(1);
      expect(writes).toBeLessThan(30);
    } finally {
      await world.close();
      await deleteByPrefix(world.config.amqpPrefix);
    }
  });
});
