/**
 * The calling side of request/reply: one channel that publishes every request and consumes
 * every reply over direct reply-to (both must be the same channel: the broker routes a reply
 * to the channel that published the request). Replies are matched to requests by
 * correlationId in the shared pending map, which also owns each call's deadline.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { TransportError, fromWireError, unavailable } from '../errors.js';
import { decodeReply, encodeBody } from '../json-body.js';
import { checkSize, outgoing, type OutgoingRequest, type TransportOptions } from '../options.js';
import { PendingRequests } from '../pending.js';
import type { RequestOptions } from '../transport.js';
import { LazyChannel, logChannelErrors, sendError, type AmqpConnection } from './connection.js';
import { DIRECT_REPLY_TO, traceHeaders, type Topology } from './topology.js';

export class RpcClient {
  readonly #options: TransportOptions;
  readonly #connection: AmqpConnection;
  readonly #topology: Topology;
  /** Tagged with the channel a request went out on: if it dies, so does the way back. */
  readonly #pending = new PendingRequests<Channel>();
  readonly #channel: LazyChannel<Channel>;

  constructor(options: TransportOptions, connection: AmqpConnection, topology: Topology) {
    this.#options = options;
    this.#connection = connection;
    this.#topology = topology;
    this.#channel = new LazyChannel(
      connection,
      (model) => this.#open(model),
      (channel) => {
        const error = unavailable(`amqp: channel to ${connection.display} lost before the reply came`);
        this.#pending.rejectWhere((tag) => tag === channel, error);
      },
    );
  }

  async request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    const out = outgoing('amqp', service, method, options, this.#options.defaultTimeoutMs);
    return this.#request(out, service, method, payload);
  }

  /** The call's span ends where the reply settles (the pending map), or here if nothing was sent. */
  async #request(out: OutgoingRequest, service: string, method: string, payload: unknown): Promise<unknown> {
    const deadline = Date.now() + out.timeoutMs;
    let content: Buffer;
    let channel: Channel;
    try {
      content = encodeBody(payload);
      checkSize(content.length, this.#options.maxMessageBytes, `request ${service}.${method}`);
      channel = await this.#channel.get(deadline);
    } catch (err) {
      return out.call.fail(err);
    }
    // Waiting for a reconnect used up part of the deadline; the server gets what is left,
    // in whole ms (the broker refuses a fractional expiration by closing the channel).
    const remainingMs = Math.max(1, Math.ceil(deadline - Date.now()));
    const reply = this.#pending.wait(out.id, remainingMs, `amqp ${service}.${method}`, channel, out.call);
    const queue = this.#topology.requestQueue(service);
    out.call.sent(queue, content.length);
    try {
      channel.publish('', queue, content, {
        // Unroutable (the queue was never declared: nobody ever served it) comes back as a
        // basic.return at once, rather than the call waiting out its deadline.
        mandatory: true,
        correlationId: out.id,
        replyTo: DIRECT_REPLY_TO,
        type: method,
        contentType: 'application/json',
        // The deadline (topology.ts): the server's timeout, which also has the broker drop a
        // request nobody picks up in time, so the queue of a service that is down does not grow
        // without bound; and when it left, so that time spent queued counts against it.
        expiration: String(remainingMs),
        timestamp: Date.now(),
        headers: traceHeaders(out.call.carrier),
      });
    } catch (err) {
      this.#pending.reject(out.id, sendError(`amqp ${service}.${method}`, err));
    }
    return reply;
  }

  async close(): Promise<void> {
    this.#pending.rejectAll(this.#connection.closedError());
    await this.#channel.close();
  }

  async #open(model: ChannelModel): Promise<Channel> {
    const channel = await model.createChannel();
    logChannelErrors(channel, this.#options.logger, 'request');
    channel.on('return', (message: ConsumeMessage) => this.#onReturn(message));
    await channel.consume(DIRECT_REPLY_TO, (message) => this.#onReply(message), { noAck: true });
    return channel;
  }

  #onReply(message: ConsumeMessage | null): void {
    const id = message?.properties.correlationId as unknown;
    if (message === null || typeof id !== 'string') return;
    const body = decodeReply(message.content, 'amqp');
    if (body.ok) this.#pending.resolve(id, body.result);
    else this.#pending.reject(id, fromWireError(body.error));
  }

  #onReturn(message: ConsumeMessage): void {
    const id = message.properties.correlationId as unknown;
    if (typeof id !== 'string') return;
    const queue = message.fields.routingKey;
    const service = queue.slice(this.#topology.requestQueue('').length);
    const error = new TransportError('UNAVAILABLE', `amqp: nobody serves ${service} (no queue ${queue} on the broker)`);
    this.#pending.reject(id, error);
  }
}
