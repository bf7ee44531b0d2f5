import type { TcpTlsFiles } from './config.js';
import { TransportError } from './errors.js';
import { newRequestId, newTraceId } from './ids.js';
import type { Logger } from './logger.js';
import type { RequestOptions } from './transport.js';

/** Where a service is reached (client side) and where it listens (server side). */
export interface ServiceRoute {
  /** `host:port` of every replica; several mean client-side load balancing. */
  addresses: string[];
  /** `host:port` this process binds when it serves the service (port 0: any free port). */
  listen: string;
}

/** What every transport implementation is built from; see config.ts for the env side. */
export interface TransportOptions {
  route(service: string): ServiceRoute;
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
  /** TCP and UDP: the shared secret every frame and datagram is signed with (signing.ts). */
  secret?: string;
  /** TCP: PEM file paths for TLS. */
  tcpTls?: TcpTlsFiles;
}

export interface OutgoingRequest {
  id: string;
  traceId: string;
  timeoutMs: number;
}

export function outgoing(options: RequestOptions | undefined, defaultTimeoutMs: number): OutgoingRequest {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  if (!(timeoutMs > 0)) throw new TransportError('INVALID_ARGUMENT', `timeoutMs must be positive, got ${timeoutMs}`);
  return { id: newRequestId(), traceId: options?.traceId ?? newTraceId(), timeoutMs };
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
 * Options for a call made while serving another: same trace id, and no more time than
 * the caller still waits (at least 1 ms, so an expired deadline fails fast downstream).
 */
export function onward(context: { traceId: string; deadline: number }): RequestOptions {
  return { traceId: context.traceId, timeoutMs: Math.max(1, context.deadline - Date.now()) };
}
