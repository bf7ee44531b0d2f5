/**
 * The bodies the brokered transports (AMQP, NATS) carry: a request's or event's payload as JSON
 * (empty for `undefined`), and a reply as a ReplyBody. The socket transports carry the same
 * shapes inside their envelope (envelope.ts); HTTP in its own body (http/client.ts).
 */
import { malformed, wireErrorOf } from './errors.js';
import type { ReplyBody } from './envelope.js';

/** An empty body stands for `undefined`, which JSON cannot spell. */
export function encodeBody(value: unknown): Buffer {
  return value === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value), 'utf8');
}

/** A payload received; not JSON → the sender gets INVALID_ARGUMENT, nothing runs. */
export function decodeBody(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(text(data));
  } catch {
    throw malformed('message body is not valid JSON');
  }
}

/** A reply from a server; anything that is not a ReplyBody becomes INTERNAL for that call, naming `transport`. */
export function decodeReply(data: Uint8Array, transport: string): ReplyBody {
  let value: unknown;
  try {
    value = JSON.parse(text(data));
  } catch {
    return unreadableReply(transport, 'not valid JSON');
  }
  const reply = value as { ok?: unknown; result?: unknown; error?: unknown } | null;
  if (reply?.ok === true) return { ok: true, result: reply.result };
  const error = reply?.ok === false ? wireErrorOf(reply.error) : undefined;
  if (error !== undefined) return { ok: false, error };
  return unreadableReply(transport, 'not {ok: true, result} or {ok: false, error: {code, message}}');
}

function unreadableReply(transport: string, why: string): ReplyBody {
  return { ok: false, error: { code: 'INTERNAL', message: `${transport}: unreadable reply from server: ${why}` } };
}

function text(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}
