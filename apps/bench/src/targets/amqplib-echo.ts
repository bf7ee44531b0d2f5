/**
 * Baseline for AMQP: bare amqplib, request/reply over RabbitMQ's direct reply-to. The same
 * protocol choices as the transport (a durable quorum request queue with a delivery limit,
 * manual ack after the reply, prefetch 64, transient messages, TCP_NODELAY), so the ratio is
 * the transport layer's cost, not a different use of the broker; what it leaves out is the
 * transport's own work (headers, expiration, mandatory routing, reconnection, the pending map).
 * Quorum queues cannot be exclusive, so the server deletes its queue when it closes.
 */
import { DELIVERY_LIMIT } from '@chirp/transport';
import { connect as amqpConnect } from 'amqplib';
import { PendingCalls, replyTo } from './baseline-wire.js';
import type { Target } from './target.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const PREFETCH = 64;

/** Nagle off, as the transport has it: amqplib leaves it on, and pipelined calls then stall ~40 ms. */
const connect = (url: string) => amqpConnect(url, { noDelay: true });

export const amqplibEcho: Target = {
  name: 'amqplib',
  description: 'bare amqplib: a quorum request queue, direct reply-to, manual ack, prefetch 64',
  async serve(context) {
    const model = await connect(context.amqpUrl);
    const channel = await model.createChannel();
    await channel.prefetch(PREFETCH);
    const queue = `${context.amqpPrefix}.baseline`;
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': DELIVERY_LIMIT },
    });
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
