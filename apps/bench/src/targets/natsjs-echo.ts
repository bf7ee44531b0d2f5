/**
 * Baseline for NATS: bare nats.js request/reply, with the same protocol choices as the
 * transport (one subject for the service, its replicas in one queue group, replies through
 * nats.js's one muxed inbox per connection), so the ratio is the transport layer's cost: its
 * headers (method, deadline, trace context), envelope checks, limits and spans.
 */
import { connect } from '@nats-io/transport-node';
import { replyTo } from './baseline-wire.js';
import type { Target } from './target.js';

export const natsjsEcho: Target = {
  name: 'natsjs',
  description: 'bare nats.js: request/reply on one subject in a queue group, the client’s muxed inbox',
  async serve(context) {
    const connection = await connect({ servers: context.natsUrl.split(',') });
    const subject = `${context.amqpPrefix}.baseline.natsjs`;
    connection.subscribe(subject, {
      queue: 'natsjs',
      callback: (err, message) => {
        if (err === null) message.respond(replyTo(message.string()));
      },
    });
    await connection.flush(); // subscribed at the server before a caller is told the subject
    return { address: subject, close: () => connection.close() };
  },
  async connect(subject, context) {
    const connection = await connect({ servers: context.natsUrl.split(',') });
    let nextId = 1;
    return {
      async call(method, payload) {
        const id = nextId++;
        const reply = await connection.request(subject, JSON.stringify({ id, method, payload }), {
          timeout: context.timeoutMs,
        });
        const { result, error } = JSON.parse(reply.string()) as { result?: unknown; error?: string };
        if (error !== undefined) throw new Error(error);
        return result;
      },
      close: () => connection.close(),
    };
  },
};
