/**
 * Baselines for AMQP: bare amqplib, request/reply over RabbitMQ's direct reply-to. The same
 * protocol choices as the transport (a durable classic request queue, transient messages,
 * manual ack after the reply, prefetch 64, TCP_NODELAY), so the ratio is the transport
 * layer's cost, not a different use of the broker; what it leaves out is the transport's own
 * work (headers, expiration, mandatory routing, reconnection, redelivery counting, the
 * pending map).
 *
 * `amqplib+quorum` is the same echo over a quorum queue with a delivery limit, which writes
 * every request to the broker's log before delivering it: the price of durability, which the
 * transport paid on every call until its request queues became classic (its group event
 * queues still are quorum queues). Not a floor for anything: measured beside the floor.
 *
 * The server deletes its queue when it closes (a quorum queue cannot be exclusive; the
 * classic one is durable like the transport's).
 */
import { DELIVERY_LIMIT } from '@chirp/transport';
import { connect as amqpConnect } from 'amqplib';
import { PendingCalls, replyTo } from './baseline-wire.js';
import type { Target, TargetName } from './target.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const PREFETCH = 64;

/** Nagle off, as the transport has it: amqplib leaves it on, and pipelined calls then stall ~40 ms. */
const connect = (url: string) => amqpConnect(url, { noDelay: true });

export const amqplibEcho = amqplibTarget(
  'amqplib',
  'bare amqplib: a classic request queue, transient messages, direct reply-to, manual ack, prefetch 64',
  { 'x-queue-type': 'classic' },
);

export const amqplibQuorumEcho = amqplibTarget(
  'amqplib+quorum',
  'the price of durability: the same bare amqplib echo over a quorum request queue (every request written to the broker’s log)',
  { 'x-queue-type': 'quorum', 'x-delivery-limit': DELIVERY_LIMIT },
);

function amqplibTarget(name: TargetName, description: string, queueArguments: Record<string, unknown>): Target {
  return {
    name,
    description,
    async serve(context) {
      const model = await connect(context.amqpUrl);
      const channel = await model.createChannel();
      await channel.prefetch(PREFETCH);
      const queue = `${context.amqpPrefix}.baseline.${name}`;
      await channel.assertQueue(queue, { durable: true, arguments: queueArguments });
      await channel.consume(queue, (message) => {
        if (message === null) return;
        const { replyTo: to, correlationId } = message.properties as { replyTo: string; correlationId: string };
        channel.publish('', to, Buffer.from(replyTo(message.content.toString('utf8'))), { correlationId });
        channel.ack(message);
      });
      return {
        address: queue,
        async close() {
          await channel.deleteQueue(queue);
          await model.close();
        },
      };
    },
    async connect(queue, context) {
      const model = await connect(context.amqpUrl);
      const channel = await model.createChannel();
      const pending = new PendingCalls(context.timeoutMs);
      await channel.consume(DIRECT_REPLY_TO, (message) => message && pending.settle(message.content.toString('utf8')), {
        noAck: true,
      });
      return {
        call(method, payload) {
          const { id, reply } = pending.open();
          channel.publish('', queue, Buffer.from(JSON.stringify({ id, method, payload })), {
            replyTo: DIRECT_REPLY_TO,
            correlationId: String(id),
          });
          return reply;
        },
        async close() {
          pending.close(new Error('closed'));
          await model.close();
        },
      };
    },
  };
}
