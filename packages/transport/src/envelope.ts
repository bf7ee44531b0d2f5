/**
 * The messages the socket transports (TCP, UDP) exchange. HTTP and AMQP carry the same
 * information in their own protocol's fields (paths, headers, message properties); their reply
 * bodies reuse `ReplyBody`.
 *
 *   request     client → server   call `method` on `service`; answered by a reply with the same id
 *   reply       server → client   ok + result, or the error's code and message
 *   subscribe   client → server   register for `topic` (optionally in a group); answered by a reply
 *   unsubscribe client → server
 *   event       server → client   one event for one subscription
 *   error       server → client   the connection's last word on input it could not parse
 *   cookie      client → server   UDP: proof of the sender's address, in front of a request or subscribe
 *   retry       server → client   UDP: "send request `id` again with this cookie" (udp/address-check.ts)
 *   batch       either way        UDP: several of the above in one datagram (udp/batch.ts, which reads it)
 *
 * On the wire, a message is a type byte, a few fixed fields, then its JSON body to the end:
 *
 *   request      01 │ timeoutMs │ id │ service │ method │ traceparent? │ tracestate? │ payload
 *   reply, ok    02 │ id │ result
 *   reply, error 03 │ id │ {"code", "message", "retryAfterS"?}
 *   subscribe    04 │ ttlMs? │ id │ subscriptionId │ topic │ group?
 *   unsubscribe  05 │ id │ subscriptionId
 *   event        06 │ subscriptionId │ topic │ traceparent? │ tracestate? │ payload
 *   error        07 │ {"code", "message"}
 *   cookie       08 │ cookie │ <a request or subscribe message, from its type byte>
 *   retry        09 │ id │ cookie
 *   batch        0A │ (uint16 length │ message)+
 *
 *   string   uint16 big-endian byte count, then that many bytes of UTF-8; `?`: 0xFFFF when absent
 *   bytes    uint16 big-endian byte count (at least 1), then those bytes as they are
 *   number   float64 big-endian, finite; `?`: NaN when absent
 *   body     UTF-8 JSON, up to the end of the message; none at all for an undefined payload/result
 *
 * Why not one JSON object, as before: writing and parsing the envelope's own keys and strings
 * around a small payload, and checking them, was a quarter of a small UDP call's JavaScript
 * time. Here only the body is JSON: encoding and decoding a request and its reply went from
 * 4.4 to 3.7 µs, and a whole call's CPU (client and server, concurrency 64) from 50 to 46 µs
 * on UDP and 20.5 to 19.5 µs on TCP. Requests and events carry their trace context (tracing.ts),
 * counted against the size limit like every other byte; a malformed one is ignored there.
 * Everything that arrives is checked here before any field is trusted: a message cut short, a
 * length past its end, an empty required string, a bad number, bytes after the fields that are
 * not JSON, an unknown type (a JSON envelope from an older peer starts with `{`, 0x7B) — each is
 * refused with INVALID_ARGUMENT naming what is wrong.
 *
 * The cookie is a prefix rather than a field of every request so that TCP, which never sends one,
 * pays nothing for it; on UDP its 3 + 16 bytes count against the datagram limit like the rest.
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
      /** UDP: the address cookie the server gave this sender (a view into the datagram when decoded). */
      cookie?: Buffer;
    } & TraceCarrier)
  | ({ type: 'reply'; id: string } & ReplyBody)
  | {
      type: 'subscribe';
      id: string;
      subscriptionId: string;
      topic: string;
      group?: string;
      ttlMs?: number;
      cookie?: Buffer;
    }
  | { type: 'unsubscribe'; id: string; subscriptionId: string }
  | ({ type: 'event'; subscriptionId: string; topic: string; payload?: unknown } & TraceCarrier)
  | { type: 'error'; error: WireError }
  | { type: 'retry'; id: string; cookie: Buffer };

/** The type byte that starts each message. */
export const MESSAGE_TYPE = {
  request: 0x01,
  replyOk: 0x02,
  replyError: 0x03,
  subscribe: 0x04,
  unsubscribe: 0x05,
  event: 0x06,
  error: 0x07,
  cookie: 0x08,
  retry: 0x09,
  batch: 0x0a,
} as const;
const {
  request: REQUEST,
  replyOk: REPLY_OK,
  replyError: REPLY_ERROR,
  subscribe: SUBSCRIBE,
  unsubscribe: UNSUBSCRIBE,
  event: EVENT,
  error: ERROR,
  cookie: COOKIE,
  retry: RETRY,
} = MESSAGE_TYPE;

const ABSENT = 0xffff;
/** The longest string a field holds (0xFFFF marks an absent one). */
export const MAX_FIELD_BYTES = 0xfffe;

/** What a cookie prefix adds to a message: its type byte, its length and the cookie. */
export function cookiePrefixBytes(cookie: Buffer): number {
  return 3 + cookie.length;
}

/**
 * `envelope` as bytes, with `reserved` bytes left free in front of it (a frame header, a
 * signature), so that the whole datagram or frame is one buffer written once. Throws
 * INVALID_ARGUMENT for a string field over MAX_FIELD_BYTES; whatever JSON.stringify throws for a
 * body it cannot express.
 */
export function encodeEnvelope(envelope: Envelope, reserved = 0): Buffer {
  const cookie = envelope.type === 'request' || envelope.type === 'subscribe' ? envelope.cookie : undefined;
  if (cookie === undefined) return encodeMessage(envelope, reserved);
  const prefix = cookiePrefixBytes(cookie);
  const bytes = encodeMessage(envelope, reserved + prefix);
  putCookie(bytes, reserved, cookie);
  return bytes;
}

/**
 * A copy of `message` (whose first `reserved` bytes are a header, left as they are) with its
 * cookie prefix set to `cookie`, replacing one it had: a UDP request sent again after a retry.
 */
export function withCookie(message: Buffer, cookie: Buffer, reserved = 0): Buffer {
  const start = message[reserved] === COOKIE ? reserved + 3 + message.readUInt16BE(reserved + 1) : reserved;
  const prefix = cookiePrefixBytes(cookie);
  const bytes = Buffer.allocUnsafe(reserved + prefix + message.length - start);
  message.copy(bytes, 0, 0, reserved);
  putCookie(bytes, reserved, cookie);
  message.copy(bytes, reserved + prefix, start);
  return bytes;
}

/** Whether `message` (after `reserved` bytes) starts with a prefix carrying exactly `cookie`. */
export function carriesCookie(message: Buffer, cookie: Buffer, reserved = 0): boolean {
  if (message[reserved] !== COOKIE || message.readUInt16BE(reserved + 1) !== cookie.length) return false;
  return cookie.equals(message.subarray(reserved + 3, reserved + 3 + cookie.length));
}

function putCookie(bytes: Buffer, at: number, cookie: Buffer): void {
  bytes[at] = COOKIE;
  putBytes(bytes, at + 1, cookie);
}

function encodeMessage(envelope: Envelope, reserved: number): Buffer {
  switch (envelope.type) {
    case 'request': {
      const { id, service, method, traceparent, tracestate } = envelope;
      const body = json(envelope.payload);
      // Sizes in locals, not an array: the hottest message, one object fewer (see http/call.ts).
      const idBytes = fieldBytes(id);
      const serviceBytes = fieldBytes(service);
      const methodBytes = fieldBytes(method);
      const parentBytes = fieldBytes(traceparent);
      const stateBytes = fieldBytes(tracestate);
      const fields = idBytes + serviceBytes + methodBytes + parentBytes + stateBytes;
      const bytes = allocate(reserved, REQUEST, 8, fields, 5, body);
      let at = bytes.writeDoubleBE(envelope.timeoutMs, reserved + 1);
      at = putField(bytes, at, id, idBytes);
      at = putField(bytes, at, service, serviceBytes);
      at = putField(bytes, at, method, methodBytes);
      at = putField(bytes, at, traceparent, parentBytes);
      at = putField(bytes, at, tracestate, stateBytes);
      return putBody(bytes, at, body);
    }
    case 'reply': {
      const body = envelope.ok ? json(envelope.result) : JSON.stringify(envelope.error);
      const size = fieldBytes(envelope.id);
      const bytes = allocate(reserved, envelope.ok ? REPLY_OK : REPLY_ERROR, 0, size, 1, body);
      return putBody(bytes, putField(bytes, reserved + 1, envelope.id, size), body);
    }
    case 'subscribe': {
      const { id, subscriptionId, topic, group } = envelope;
      const sizes = [fieldBytes(id), fieldBytes(subscriptionId), fieldBytes(topic), fieldBytes(group)] as const;
      const bytes = allocate(reserved, SUBSCRIBE, 8, sizes[0] + sizes[1] + sizes[2] + sizes[3], 4, undefined);
      let at = bytes.writeDoubleBE(envelope.ttlMs ?? NaN, reserved + 1);
      at = putField(bytes, at, id, sizes[0]);
      at = putField(bytes, at, subscriptionId, sizes[1]);
      at = putField(bytes, at, topic, sizes[2]);
      putField(bytes, at, group, sizes[3]);
      return bytes;
    }
    case 'unsubscribe': {
      const { id, subscriptionId } = envelope;
      const sizes = [fieldBytes(id), fieldBytes(subscriptionId)] as const;
      const bytes = allocate(reserved, UNSUBSCRIBE, 0, sizes[0] + sizes[1], 2, undefined);
      putField(bytes, putField(bytes, reserved + 1, id, sizes[0]), subscriptionId, sizes[1]);
      return bytes;
    }
    case 'event': {
      const { subscriptionId, topic, traceparent, tracestate } = envelope;
      const body = json(envelope.payload);
      const sizes = [
        fieldBytes(subscriptionId),
        fieldBytes(topic),
        fieldBytes(traceparent),
        fieldBytes(tracestate),
      ] as const;
      const bytes = allocate(reserved, EVENT, 0, sizes[0] + sizes[1] + sizes[2] + sizes[3], 4, body);
      let at = putField(bytes, reserved + 1, subscriptionId, sizes[0]);
      at = putField(bytes, at, topic, sizes[1]);
      at = putField(bytes, at, traceparent, sizes[2]);
      at = putField(bytes, at, tracestate, sizes[3]);
      return putBody(bytes, at, body);
    }
    case 'error': {
      const body = JSON.stringify(envelope.error);
      const bytes = allocate(reserved, ERROR, 0, 0, 0, body);
      return putBody(bytes, reserved + 1, body);
    }
    case 'retry': {
      const { id, cookie } = envelope;
      const size = fieldBytes(id);
      const bytes = allocate(reserved, RETRY, 0, size + cookie.length, 2, undefined);
      putBytes(bytes, putField(bytes, reserved + 1, id, size), cookie);
      return bytes;
    }
  }
}

/** Parse and check one message; throws INVALID_ARGUMENT naming what is wrong. */
export function decodeEnvelope(bytes: Buffer): Envelope {
  const r = new Reader(bytes);
  switch (r.type) {
    case REQUEST: {
      const timeoutMs = r.number();
      const id = r.required('request.id');
      const service = r.required('request.service');
      const method = r.required('request.method');
      if (!(timeoutMs > 0 && timeoutMs < Infinity)) throw invalid('request.timeoutMs must be a positive number');
      const traceparent = r.optional();
      const tracestate = r.optional();
      return { type: 'request', id, service, method, payload: r.body(), timeoutMs, traceparent, tracestate };
    }
    case REPLY_OK: {
      const id = r.required('reply.id');
      return { type: 'reply', id, ok: true, result: r.body() };
    }
    case REPLY_ERROR: {
      const id = r.required('reply.id');
      const error = r.body();
      if (!isWireError(error)) throw invalid('an error reply needs {code, message}');
      return { type: 'reply', id, ok: false, error };
    }
    case SUBSCRIBE: {
      const ttlMs = r.number();
      const id = r.required('subscribe.id');
      const subscriptionId = r.required('subscribe.subscriptionId');
      const topic = r.required('subscribe.topic');
      const group = r.optional();
      r.end();
      if (!Number.isNaN(ttlMs) && !(ttlMs > 0 && ttlMs < Infinity)) {
        throw invalid('subscribe.ttlMs must be a positive number');
      }
      const envelope: Envelope = { type: 'subscribe', id, subscriptionId, topic };
      if (group !== undefined) envelope.group = group;
      if (!Number.isNaN(ttlMs)) envelope.ttlMs = ttlMs;
      return envelope;
    }
    case UNSUBSCRIBE: {
      const id = r.required('unsubscribe.id');
      const subscriptionId = r.required('unsubscribe.subscriptionId');
      r.end();
      return { type: 'unsubscribe', id, subscriptionId };
    }
    case EVENT: {
      const subscriptionId = r.required('event.subscriptionId');
      const topic = r.required('event.topic');
      const traceparent = r.optional();
      const tracestate = r.optional();
      return { type: 'event', subscriptionId, topic, payload: r.body(), traceparent, tracestate };
    }
    case ERROR: {
      const error = r.body();
      if (!isWireError(error)) throw invalid('error needs {code, message}');
      return { type: 'error', error };
    }
    case COOKIE: {
      const cookie = r.bytes('cookie');
      const rest = r.rest();
      const inner = rest[0];
      // Checked before decoding it, so that nested prefixes cannot make it recurse.
      if (rest.length > 0 && inner !== REQUEST && inner !== SUBSCRIBE) {
        throw invalid('a cookie goes before a request or a subscribe, once');
      }
      const message = decodeEnvelope(rest) as Extract<Envelope, { type: 'request' | 'subscribe' }>;
      message.cookie = cookie;
      return message;
    }
    case RETRY: {
      const id = r.required('retry.id');
      const cookie = r.bytes('retry.cookie');
      r.end();
      return { type: 'retry', id, cookie };
    }
    default:
      throw invalid(`unknown message type 0x${r.type.toString(16).padStart(2, '0')}`);
  }
}

/** The id of a message that failed to decode, if it has one, so the sender can be told. */
export function idOf(bytes: Buffer): string | undefined {
  try {
    const r = new Reader(bytes);
    if (r.type === REQUEST || r.type === SUBSCRIBE) r.number();
    if (r.type < REQUEST || r.type > UNSUBSCRIBE) return undefined;
    const id = r.optional();
    return id === undefined || id.length === 0 ? undefined : id;
  } catch {
    return undefined;
  }
}

/** The JSON text of a body; undefined (no body) for a value JSON leaves out, as in an object. */
function json(value: unknown): string | undefined {
  return value === undefined ? undefined : (JSON.stringify(value) as string | undefined);
}

/*
 * Writing: a message is sized first, then written in place, one allocation each. Fields are
 * nearly always ASCII (ids, names, trace context), sized and copied here rather than by a
 * native call per field: the first version of this codec, a Buffer.byteLength and a
 * Buffer#write per field, cost more than the JSON envelope it replaced for a small request.
 */

/** The message's buffer with its type byte written; its fields start right after. */
function allocate(
  reserved: number,
  type: number,
  numberBytes: number,
  fieldBytes: number,
  fields: number,
  body: string | undefined,
): Buffer {
  const size =
    reserved + 1 + numberBytes + 2 * fields + fieldBytes + (body === undefined ? 0 : Buffer.byteLength(body));
  const bytes = Buffer.allocUnsafe(size);
  bytes[reserved] = type;
  return bytes;
}

/** A field's length in UTF-8 (equal to its length in characters only when it is ASCII); 0 when absent. */
function fieldBytes(s: string | undefined): number {
  if (s === undefined) return 0;
  let length = s.length;
  for (let c = 0; c < s.length; c++) {
    if (s.charCodeAt(c) > 0x7f) {
      length = Buffer.byteLength(s);
      break;
    }
  }
  if (length > MAX_FIELD_BYTES) {
    throw new TransportError('INVALID_ARGUMENT', `a name or id of ${length} bytes is over ${MAX_FIELD_BYTES}`);
  }
  return length;
}

function putField(bytes: Buffer, at: number, s: string | undefined, length: number): number {
  const announced = s === undefined ? ABSENT : length;
  bytes[at++] = announced >>> 8;
  bytes[at++] = announced & 0xff;
  if (s === undefined) return at;
  if (length === s.length) {
    for (let c = 0; c < length; c++) bytes[at + c] = s.charCodeAt(c); // ASCII: one byte per character
  } else {
    bytes.write(s, at, length, 'utf8');
  }
  return at + length;
}

/** A `bytes` field: never empty (and so never mistaken for an absent string). */
function putBytes(bytes: Buffer, at: number, value: Buffer): number {
  if (value.length === 0 || value.length > MAX_FIELD_BYTES) {
    throw new TransportError('INVALID_ARGUMENT', `a cookie of ${value.length} bytes is not 1 to ${MAX_FIELD_BYTES}`);
  }
  bytes.writeUInt16BE(value.length, at);
  value.copy(bytes, at + 2);
  return at + 2 + value.length;
}

function putBody(bytes: Buffer, at: number, body: string | undefined): Buffer {
  if (body !== undefined) bytes.write(body, at, 'utf8');
  return bytes;
}

/** Reads fields in order; every read checks that the bytes are there. */
class Reader {
  readonly type: number;
  readonly #bytes: Buffer;
  #offset = 1;

  constructor(bytes: Buffer) {
    if (bytes.length === 0) throw invalid('message is empty');
    this.#bytes = bytes;
    this.type = bytes[0]!;
  }

  number(): number {
    if (this.#offset + 8 > this.#bytes.length) throw cutShort();
    const value = this.#bytes.readDoubleBE(this.#offset);
    this.#offset += 8;
    return value;
  }

  optional(): string | undefined {
    const bytes = this.#bytes;
    if (this.#offset + 2 > bytes.length) throw cutShort();
    const length = bytes.readUInt16BE(this.#offset);
    this.#offset += 2;
    if (length === ABSENT) return undefined;
    if (this.#offset + length > bytes.length) throw cutShort();
    this.#offset += length;
    return bytes.toString('utf8', this.#offset - length, this.#offset);
  }

  /** A `bytes` field, as a view into the message. */
  bytes(field: string): Buffer {
    const bytes = this.#bytes;
    if (this.#offset + 2 > bytes.length) throw cutShort();
    const length = bytes.readUInt16BE(this.#offset);
    this.#offset += 2;
    if (length === 0 || length === ABSENT) throw invalid(`${field} must be 1 to ${MAX_FIELD_BYTES} bytes`);
    if (this.#offset + length > bytes.length) throw cutShort();
    this.#offset += length;
    return bytes.subarray(this.#offset - length, this.#offset);
  }

  /** What is left, as a view: the message a prefix goes before. */
  rest(): Buffer {
    return this.#bytes.subarray(this.#offset);
  }

  required(field: string): string {
    const value = this.optional();
    if (value === undefined || value.length === 0) throw invalid(`${field} must be a non-empty string`);
    return value;
  }

  /** The rest as JSON; undefined when nothing is left. */
  body(): unknown {
    if (this.#offset === this.#bytes.length) return undefined;
    try {
      return JSON.parse(this.#bytes.toString('utf8', this.#offset));
    } catch {
      throw invalid('message body is not valid JSON');
    }
  }

  /** Messages without a body end with their last field. */
  end(): void {
    if (this.#offset !== this.#bytes.length) throw invalid('bytes after the last field');
  }
}

function isWireError(value: unknown): value is WireError {
  const e = value as Partial<WireError> | null;
  return typeof e === 'object' && e !== null && isErrorCode(e.code) && typeof e.message === 'string';
}

function cutShort(): TransportError {
  return invalid('message is cut short');
}

function invalid(message: string): TransportError {
  return new TransportError('INVALID_ARGUMENT', `malformed message: ${message}`);
}
