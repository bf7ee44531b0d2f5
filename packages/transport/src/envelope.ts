/**
 * The messages the socket transports (TCP, UDP) exchange, as JSON. HTTP and AMQP carry the
 * same information in their own protocol's fields (paths, headers, message properties);
 * their reply bodies reuse `ReplyBody`.
 *
 *   request     client → server   call `method` on `service`; answered by a reply with the same id
 *   reply       server → client   ok + result, or the error's code and message
 *   subscribe   client → server   register for `topic` (optionally in a group); answered by a reply
 *   unsubscribe client → server
 *   event       server → client   one event for one subscription
 *   error       server → client   the connection's last word on input it could not parse
 *
 * Requests and events carry their trace context as `traceparent` and `tracestate` (tracing.ts),
 * counted against the size limit like every other byte; a malformed one is ignored there.
 * Everything that arrives is checked here before any field is trusted.
 */
import { TransportError, isErrorCode, type WireError } from './errors.js';
import type { TraceCarrier } from './tracing.js';

export type ReplyBody = { ok: true; result?: unknown } | { ok: false; error: WireError };

export type Envelope =
  | ({
      type: 'request';
      id: string;
      service: string;
      method: string;
      payload?: unknown;
      timeoutMs: number;
    } & TraceCarrier)
  | ({ type: 'reply'; id: string } & ReplyBody)
  | { type: 'subscribe'; id: string; subscriptionId: string; topic: string; group?: string; ttlMs?: number }
  | { type: 'unsubscribe'; id: string; subscriptionId: string }
  | ({ type: 'event'; subscriptionId: string; topic: string; payload?: unknown } & TraceCarrier)
  | { type: 'error'; error: WireError };

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** Parse and check one message; throws INVALID_ARGUMENT naming what is wrong. */
export function decodeEnvelope(text: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('message is not a JSON object');
  }
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'request':
      need(m, 'id', 'service', 'method');
      if (typeof m.timeoutMs !== 'number' || !(m.timeoutMs > 0)) {
        throw invalid('request.timeoutMs must be a positive number');
      }
      return m as Envelope;
    case 'reply':
      need(m, 'id');
      if (m.ok === true) return m as Envelope;
      if (m.ok === false && isWireError(m.error)) return m as Envelope;
      throw invalid('reply needs ok: true, or ok: false with error {code, message}');
    case 'subscribe':
      need(m, 'id', 'subscriptionId', 'topic');
      if (m.group !== undefined && typeof m.group !== 'string') throw invalid('subscribe.group must be a string');
      if (m.ttlMs !== undefined && !(typeof m.ttlMs === 'number' && m.ttlMs > 0)) {
        throw invalid('subscribe.ttlMs must be a positive number');
      }
      return m as Envelope;
    case 'unsubscribe':
      need(m, 'id', 'subscriptionId');
      return m as Envelope;
    case 'event':
      need(m, 'subscriptionId', 'topic');
      return m as Envelope;
    case 'error':
      if (!isWireError(m.error)) throw invalid('error needs {code, message}');
      return m as Envelope;
    default:
      throw invalid(`unknown message type ${JSON.stringify(m.type)}`);
  }
}

/** The id of a message that failed to decode, if it has one, so the sender can be told. */
export function idOf(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    const id = (value as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

function need(m: Record<string, unknown>, ...fields: string[]): void {
  for (const field of fields) {
    const v = m[field];
    if (typeof v !== 'string' || v.length === 0) {
      throw invalid(`${String(m.type)}.${field} must be a non-empty string`);
    }
  }
}

function isWireError(value: unknown): value is WireError {
  const e = value as Partial<WireError> | null;
  return typeof e === 'object' && e !== null && isErrorCode(e.code) && typeof e.message === 'string';
}

function invalid(message: string): TransportError {
  return new TransportError('INVALID_ARGUMENT', `malformed message: ${message}`);
}
