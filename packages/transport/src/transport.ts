/**
 * The one interface every service call goes through. HTTP, AMQP, TCP and UDP each
 * implement it; the conformance suite (conformance.test.ts) holds all four to the
 * same behaviour. Nothing else lives in this file.
 */

import type { Context } from '@opentelemetry/api';

export const TRANSPORT_KINDS = ['http', 'amqp', 'tcp', 'udp', 'nats'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export interface Transport {
  /**
   * Call `method` on `service` and wait for its reply. Rejects with a TransportError:
   * the handler's own (code and message unchanged), DEADLINE_EXCEEDED when no reply
   * came in time, UNIMPLEMENTED for an unknown method, UNAVAILABLE when nobody serves.
   */
  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown>;

  /**
   * Send an event to every subscriber of `topic` (and to one member of each group).
   * `service` is the publisher: socket transports deliver to subscribers registered
   * with that service's listener, so the publisher must be serving it.
   */
  publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void>;

  /** Serve `service`'s handlers until the listener is closed. */
  serve(service: string, handlers: Handlers): Promise<Listener>;

  /** Receive the events `service` publishes on `topic`. */
  subscribe(service: string, topic: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;

  /** Stop everything: pending requests reject with UNAVAILABLE, sockets are destroyed. */
  close(): Promise<void>;

  /**
   * The transport's own tallies (refusals, timeouts, retransmissions…) by camelCase name, for
   * /metrics; `open` is a level, the rest only ever grow.
   */
  counters?(): Record<string, number>;
}

export interface RequestOptions {
  /** How long the caller waits for the reply; the handler sees the same deadline. */
  timeoutMs?: number;
  /**
   * The trace this call belongs to (an OpenTelemetry context): the call's span is a child of
   * its span. Default: the active context, which inside a handler is the handler's own.
   */
  parent?: Context;
  /**
   * The call may safely run twice (the contract marks such methods): when it fails with
   * UNAVAILABLE it is tried again, with backoff, while its deadline allows (retry.ts). Honoured by
   * the RoutedTransport every process uses (createTransport), which also resolves the deadline.
   */
  idempotent?: boolean;
}

export interface PublishOptions {
  /** As for requests: the publish's span is a child of this context's span. */
  parent?: Context;
}

export interface SubscribeOptions {
  /** Subscribers sharing a group compete: one member of the group gets each event. */
  group?: string;
}

/** What a handler knows about the call it is serving. */
export interface CallContext {
  service: string;
  method: string;
  /** The W3C trace id of the call: the same on every hop of one user action. */
  traceId: string;
  /** The handler's trace context (its span is the call's server span): the parent of onward calls. */
  trace: Context;
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
  transport: TransportKind;
}

export type Handler = (payload: unknown, context: CallContext) => unknown;
export type Handlers = Readonly<Record<string, Handler>>;

export interface EventContext {
  service: string;
  topic: string;
  traceId: string;
  /** The delivery's trace context, a child of the publish: the parent of what the handler does. */
  trace: Context;
  transport: TransportKind;
}

export type EventHandler = (event: unknown, context: EventContext) => void | Promise<void>;

export interface Listener {
  /** Where callers reach this listener: `host:port` for sockets, a queue name for AMQP. */
  readonly address: string;
  close(): Promise<void>;
}

export interface Subscription {
  close(): Promise<void>;
}
