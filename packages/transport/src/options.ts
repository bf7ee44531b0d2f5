import type { TcpLimits, TcpTlsFiles } from './config.js';
import type { ReplicaUpdates } from './endpoints.js';
import { TransportError } from './errors.js';
import type { Context } from '@opentelemetry/api';
import { newRequestId } from './ids.js';
import type { Envelope } from './envelope.js';
import type { Logger } from './logger.js';
import { ClientCall } from './tracing.js';
import type { RequestOptions, TransportKind } from './transport.js';

/** Where a service is reached (client side) and where it listens (server side). */
export interface ServiceRoute {
  /** `host:port` of every replica; several mean client-side load balancing. */
  addresses: string[];
  /** `host:port` this process binds when it serves the service (port 0: any free port). */
  listen: string;
}

/** What every transport implementation is built from; see config.ts for the env side. */
export interface TransportOptions {
  /** Read again after each change of `replicas`: a route's addresses follow its names' replicas. */
  route(service: string): ServiceRoute;
  /** HTTP, TCP and UDP: when the replicas behind the routes' host names change (replicas.ts); none: never. */
  replicas?: ReplicaUpdates;
  maxMessageBytes: number;
  defaultTimeoutMs: number;
  logger: Logger;
  /** How long a listener waits for in-flight requests when it closes. */
  shutdownGraceMs: number;
  /** HTTP and UDP: event registrations expire unless renewed within this time. */
  subscriptionTtlMs: number;
  amqpUrl: string;
  /** Prefix of every AMQP queue and exchange name, so several deployments share a broker. */
  amqpPrefix: string;
  /** NATS: the server(s) to connect to, comma-separated (`nats://127.0.0.1:4222`). */
  natsUrl: string;
  /** NATS: the first token of every subject, so several deployments share a server. */
  natsPrefix: string;
  /** HTTP, TCP and UDP: the shared secret every request, frame and datagram is signed with (signing.ts). */
  secret?: string;
  /** TCP: PEM file paths for TLS. */
  tcpTls?: TcpTlsFiles;
  /** TCP: caps and timeouts for connections (default DEFAULT_TCP_LIMITS). */
  tcpLimits?: TcpLimits;
}

export interface OutgoingRequest {
  id: string;
  timeoutMs: number;
  /**
   * The call's span: its trace context goes with the request (`call.carrier`); the pending
   * wait ends it (`call.end`) when the reply settles, or `call.fail` if nothing was sent.
   */
  call: ClientCall;
}

/** What every transport does first for a call: its id, its deadline and its span. */
export function outgoing(
  transport: TransportKind,
  service: string,
  method: string,
  options: RequestOptions | undefined,
  defaultTimeoutMs: number,
): OutgoingRequest {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  if (!(timeoutMs > 0)) throw new TransportError('INVALID_ARGUMENT', `timeoutMs must be positive, got ${timeoutMs}`);
  return { id: newRequestId(), timeoutMs, call: new ClientCall(transport, service, method, options?.parent) };
}

/** The request envelope TCP and UDP send for `out`, its trace context included. */
export function requestEnvelope(
  out: OutgoingRequest,
  service: string,
  method: string,
  payload: unknown,
): Extract<Envelope, { type: 'request' }> {
  const { traceparent, tracestate } = out.call.carrier;
  return { type: 'request', id: out.id, service, method, payload, timeoutMs: out.timeoutMs, traceparent, tracestate };
}

/** Refuse a message before sending it rather than let the peer cut the connection. */
export function checkSize(bytes: number, maxBytes: number, what: string): void {
  if (bytes > maxBytes) {
    throw new TransportError(
      'RESOURCE_EXHAUSTED',
      `${what} is ${bytes} bytes, over this transport's limit of ${maxBytes} bytes`,
    );
  }
}

/**
 * Options for a call made while serving another: a child of the handler's span, and no more
 * time than the caller still waits (at least 1 ms, so an expired deadline fails fast downstream).
 */
export function onward(context: { trace: Context; deadline: number }): RequestOptions {
  return { parent: context.trace, timeoutMs: Math.max(1, context.deadline - Date.now()) };
}
