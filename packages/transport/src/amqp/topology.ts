/**
 * What this transport puts on the broker and what its messages look like there. Every name
 * starts with the prefix, so deployments (and parallel test runs) sharing a broker never meet.
 *
 *   <prefix>.rpc.<service>                      durable classic queue: one service's requests, shared by its replicas
 *   <prefix>.events                             durable topic exchange, routing key <service>.<topic>
 *   <prefix>.events.<service>.<topic>.<group>   durable quorum queue shared by the members of one group
 *   amq.gen-…                                   exclusive queue of one ungrouped subscriber (server-named)
 *   <prefix>.dlx → <prefix>.dead                fanout exchange and its queue: rejected, expired and poison messages
 *
 * A request is a message on the default exchange to the service's queue: `type` is the method,
 * `correlationId` the request id, `replyTo` the caller's direct reply-to address, the body the
 * JSON payload (empty for `undefined`), and the headers below; it expires at the caller's
 * deadline. The reply is a `ReplyBody` as JSON, sent to `replyTo` with the same correlationId.
 * An event is a persistent message on the events exchange: JSON body, W3C trace context headers.
 *
 * Request queues are classic queues, durable, holding transient messages: a request lives in
 * memory only, as long as its caller waits for it, so no call waits on a disk write. Durable
 * rather than not, because the queue itself is the service's address: it outlives a broker
 * restart, so callers reconnecting before the servers do find it (and wait for a server within
 * their deadline) instead of being told nobody serves it; and non-durable queues that are not
 * exclusive are deprecated (a warning since RabbitMQ 3.13, refused by default since 4.3). The requests in it do not survive a
 * broker restart (they are transient); their callers' channels do not either.
 * Group event queues are quorum queues: an event a resolved publish() announced must survive
 * a broker restart and a crashing member, which is what the quorum log is for.
 *
 * Poison messages. A message a server cannot read (not JSON, headers missing or wrong, over
 * maxMessageBytes) is rejected at once and dead-lettered. A message whose handling kills its
 * consumer (the process crashes, the channel dies) never gets a verdict: the broker redelivers
 * it, and without a count it would do so forever (a request until its deadline), taking a
 * replica down each time. Quorum queues count deliveries a consumer did not settle and, with
 * `x-delivery-limit`, dead-letter a message after DELIVERY_LIMIT redeliveries (reason
 * delivery_limit). Classic queues only flag a redelivery, so on request queues the consumer
 * counts, in a header of a copy it republishes (redelivery.ts), and dead-letters past the same
 * limit itself (header x-chirp-death-reason: delivery_limit): a publish per redelivery instead
 * of a log write per request. Measured here (RabbitMQ 3.10.8, 2 cores, the bench's baselines):
 * a bare amqplib echo answers in ~0.45 ms at the median over a classic queue, ~1.45 ms over a
 * quorum queue, which also sustains ~0.6× its calls/s at 64 in flight; this transport went from
 * ~1.6 ms to ~0.65 ms when its request queues became classic. Per-message TTL works on both
 * (expired requests are dead-lettered). What neither count can tell apart: the messages a
 * consumer held unacked when it died (up to PREFETCH) all count one delivery, so a message that
 * keeps arriving alongside a poison one could share its fate; consumer.ts handles redeliveries
 * one at a time so that it does not.
 * Ungrouped subscribers' queues are exclusive to one connection, which quorum queues cannot be:
 * they stay classic, and a crashing consumer takes its queue with it.
 */
import type { Channel, ConsumeMessage, MessagePropertyHeaders } from 'amqplib';
import { TransportError, checkReceivedSize, malformed } from '../errors.js';
import { decodeBody } from '../json-body.js';
import type { TraceCarrier } from '../tracing.js';

/** RabbitMQ's direct reply-to: replies go straight to the caller's channel, no queue per caller. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * The dead-letter queue keeps the most recent messages only: it is for looking at what went
 * wrong, and an outage (every expired request lands here) must not fill the broker's disk.
 */
const DEAD_LETTER_MAX_MESSAGES = 10_000;

/**
 * Redeliveries of one message after consumers died holding it, before it is dead-lettered (by
 * the broker on a quorum queue, by the consumer on a request queue): enough that a message caught in a replica's restart or a dropped connection still goes
 * through (each one costs a delivery), few enough that a message that kills its consumer
 * stops after taking down DELIVERY_LIMIT + 1 of them.
 */
export const DELIVERY_LIMIT = 5;

export class Topology {
  readonly prefix: string;
  readonly deadLetterExchange: string;
  readonly deadLetterQueue: string;
  readonly eventsExchange: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.deadLetterExchange = `${prefix}.dlx`;
    this.deadLetterQueue = `${prefix}.dead`;
    this.eventsExchange = `${prefix}.events`;
  }

  requestQueue(service: string): string {
    return `${this.prefix}.rpc.${service}`;
  }

  routingKey(service: string, topic: string): string {
    return `${service}.${topic}`;
  }

  groupQueue(service: string, topic: string, group: string): string {
    return `${this.prefix}.events.${service}.${topic}.${group}`;
  }

  async declareDeadLetters(channel: Channel): Promise<void> {
    await channel.assertExchange(this.deadLetterExchange, 'fanout', { durable: true });
    await channel.assertQueue(this.deadLetterQueue, {
      durable: true,
      arguments: { 'x-max-length': DEAD_LETTER_MAX_MESSAGES },
    });
    await channel.bindQueue(this.deadLetterQueue, this.deadLetterExchange, '');
  }

  /**
   * The service's request queue (and the dead letters it feeds); returns its name. Classic,
   * so its consumers count redeliveries themselves (redelivery.ts).
   */
  async declareRequestQueue(channel: Channel, service: string): Promise<string> {
    await this.declareDeadLetters(channel);
    const queue = this.requestQueue(service);
    await this.#declare(channel, queue, { 'x-queue-type': 'classic' });
    return queue;
  }

  async declareEvents(channel: Channel): Promise<void> {
    await channel.assertExchange(this.eventsExchange, 'topic', { durable: true });
  }

  /**
   * A subscriber's queue, bound to its topic: a durable one shared by the group, or a
   * server-named one that lives as long as this subscriber's connection.
   */
  async declareSubscriberQueue(
    channel: Channel,
    service: string,
    topic: string,
    group: string | undefined,
  ): Promise<string> {
    await this.declareDeadLetters(channel);
    await this.declareEvents(channel);
    const { queue } =
      group === undefined
        ? await channel.assertQueue('', {
            exclusive: true,
            autoDelete: true,
            durable: false,
            deadLetterExchange: this.deadLetterExchange,
          })
        : {
            queue: await this.#declare(channel, this.groupQueue(service, topic, group), {
              'x-queue-type': 'quorum',
              'x-delivery-limit': DELIVERY_LIMIT,
            }),
          };
    await channel.bindQueue(queue, this.eventsExchange, this.routingKey(service, topic));
    return queue;
  }

  /** A durable queue of the given type (see the header), dead-lettering to the prefix's DLX. */
  async #declare(channel: Channel, queue: string, args: Record<string, unknown>): Promise<string> {
    try {
      await channel.assertQueue(queue, { durable: true, deadLetterExchange: this.deadLetterExchange, arguments: args });
    } catch (err) {
      if (!/inequivalent arg/.test(String((err as Error | undefined)?.message))) throw err;
      // E.g. a request queue that an older Chirp made a quorum queue: the broker never changes a queue's type in place.
      throw new TransportError(
        'UNAVAILABLE',
        `amqp: queue ${queue} exists on the broker with other settings (made by an older Chirp?): ` +
          `delete it (rabbitmqctl delete_queue ${queue}) or use another AMQP_PREFIX`,
        { cause: err },
      );
    }
    return queue;
  }

  /**
   * A subscription's topic may hold the wildcards `*` and `#`, which the binding then matches
   * natively (the other transports match the same way: subscribers.ts topicMatches); the
   * service's name may not, or the binding would take other services' events.
   */
  checkSubscribable(service: string): void {
    if (/[*#]/.test(service)) {
      throw new TransportError('INVALID_ARGUMENT', `amqp: cannot subscribe to ${service}: * and # are wildcards`);
    }
  }

  /** The topic an event was published on, from its routing key (a subscription's may be a pattern). */
  topicOf(service: string, routingKey: string): string {
    return routingKey.slice(service.length + 1);
  }
}

export interface IncomingRequest {
  method: string;
  payload: unknown;
  trace: TraceCarrier;
  timeoutMs: number;
  /** The caller's clock; only a hint, see deadlineOf. */
  sentAt: number | undefined;
}

/**
 * Check a request message before any field is trusted; throws INVALID_ARGUMENT naming the
 * problem, or RESOURCE_EXHAUSTED for a body over `maxBytes` (which is not even parsed).
 */
export function decodeRequest(message: ConsumeMessage, maxBytes: number): IncomingRequest {
  checkReceivedSize(message.content.length, maxBytes);
  const { type, headers, expiration, timestamp } = message.properties as {
    type?: unknown;
    headers?: MessagePropertyHeaders;
    expiration?: unknown;
    timestamp?: unknown;
  };
  if (typeof type !== 'string' || type.length === 0)
    throw malformed('the type property (the method) must be a non-empty string');
  const timeoutMs = timeoutOf(expiration);
  if (timeoutMs === undefined) {
    throw malformed("the expiration property (the caller's timeout) must be a positive whole number of ms");
  }
  return {
    method: type,
    payload: decodeBody(message.content),
    trace: traceOf(headers),
    timeoutMs,
    sentAt: typeof timestamp === 'number' ? timestamp : undefined,
  };
}

/**
 * A request's deadline rides in two standard properties, not in the headers: `expiration`, the
 * caller's timeout in whole ms (which also has the broker drop a request nobody waits for any
 * more), and `timestamp`, the caller's clock when it sent the request, in epoch ms (AMQP leaves
 * the unit to the application), so that time spent queued counts against the deadline. Headers
 * are a field table that both client libraries and the broker encode and parse per message: even
 * one entry cost 15% of a small echo's throughput and ~9 µs of CPU per call (client and server)
 * next to none, so the headers carry only what has no property of its own (trace context).
 *
 * timeoutOf reads the timeout from the expiration property (a string of digits, as the broker
 * requires); undefined when it holds none.
 */
export function timeoutOf(expiration: unknown): number | undefined {
  if (typeof expiration !== 'string' || !/^[0-9]{1,15}$/.test(expiration)) return undefined;
  const ms = Number(expiration);
  return ms > 0 ? ms : undefined;
}

/**
 * When the caller stops waiting, in this process's clock. The relative timeout is what counts;
 * the caller's send time only takes off the time the request sat in the queue, and is ignored
 * when it is implausible (clocks of different hosts disagree), rather than dropping the call.
 */
export function deadlineOf(request: Pick<IncomingRequest, 'timeoutMs' | 'sentAt'>, receivedAt = Date.now()): number {
  const age = request.sentAt === undefined ? 0 : receivedAt - request.sentAt;
  const queued = age >= 0 && age < request.timeoutMs ? age : 0;
  return receivedAt + request.timeoutMs - queued;
}

export function decodeEvent(message: ConsumeMessage, maxBytes: number): { trace: TraceCarrier; payload: unknown } {
  checkReceivedSize(message.content.length, maxBytes);
  return { trace: traceOf(message.properties.headers), payload: decodeBody(message.content) };
}

/** The message headers that carry `trace` (W3C Trace Context, as on HTTP); none when it is empty. */
export function traceHeaders(trace: TraceCarrier): MessagePropertyHeaders | undefined {
  if (trace.traceparent === undefined) return undefined;
  const headers: MessagePropertyHeaders = { traceparent: trace.traceparent };
  if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
  return headers;
}

/** What trace context a message carries; tracing.ts ignores a malformed one (a new trace), never refuses it. */
function traceOf(headers: MessagePropertyHeaders | undefined): TraceCarrier {
  const { traceparent, tracestate } = (headers ?? {}) as { traceparent?: unknown; tracestate?: unknown };
  return {
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
    tracestate: typeof tracestate === 'string' ? tracestate : undefined,
  };
}
