/**
 * The socket transports' message codec through its public API: every type round-trips with
 * multibyte text in every field, optional fields absent or present; whatever bytes arrive, the
 * decoder answers with a message or INVALID_ARGUMENT, never anything else; a message cut inside
 * its fields is refused; and messages survive the TCP framing split anywhere (properties).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_FIELD_BYTES,
  MESSAGE_TYPE,
  carriesCookie,
  decodeEnvelope,
  encodeEnvelope,
  idOf,
  withCookie,
  type Envelope,
} from './envelope.js';
import { ERROR_CODES, TransportError, type ErrorCode } from './errors.js';
import { FrameDecoder, encodeFrame } from './tcp/framing.js';
import { rawLength, rawMessage } from './testing/wire.js';

const MULTIBYTE = 'naïve 🐦 tweet ü';
const COOKIE = Buffer.from('00ff102030405060708090a0b0c0d0e0', 'hex');

function refusal(bytes: Buffer): string {
  try {
    decodeEnvelope(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error('expected the message to be refused');
}

/** What decoding gives back: the envelope, with JSON's view of its body (a cookie stays bytes). */
function roundTripped(envelope: Envelope): Envelope {
  const copy = JSON.parse(JSON.stringify(envelope)) as Envelope & { cookie?: Buffer };
  if ('cookie' in envelope && envelope.cookie !== undefined) copy.cookie = envelope.cookie;
  return copy;
}

const text = fc.string({ unit: 'binary', maxLength: 30 });
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 });
const optional = fc.option(text, { nil: undefined });
const body = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined });
const positive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
const cookie = fc.uint8Array({ minLength: 1, maxLength: 32 }).map((bytes) => Buffer.from(bytes));
const wireError = fc.record(
  {
    code: fc.constantFrom(...(Object.keys(ERROR_CODES) as ErrorCode[])),
    message: text,
    retryAfterS: fc.nat(),
  },
  { requiredKeys: ['code', 'message'] },
);

const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record(
    {
      type: fc.constant('request' as const),
      id: name,
      service: name,
      method: name,
      payload: body,
      timeoutMs: positive,
      traceparent: optional,
      tracestate: optional,
      cookie,
    },
    { requiredKeys: ['type', 'id', 'service', 'method', 'timeoutMs'] },
  ),
  fc.record({ type: fc.constant('reply' as const), id: name, ok: fc.constant(true as const), result: body }),
  fc.record({ type: fc.constant('reply' as const), id: name, ok: fc.constant(false as const), error: wireError }),
  fc.record(
    {
      type: fc.constant('subscribe' as const),
      id: name,
      subscriptionId: name,
      topic: name,
      group: text,
      ttlMs: positive,
      cookie,
    },
    { requiredKeys: ['type', 'id', 'subscriptionId', 'topic'] },
  ),
  fc.record({ type: fc.constant('unsubscribe' as const), id: name, subscriptionId: name }),
  fc.record(
    {
      type: fc.constant('event' as const),
      subscriptionId: name,
      topic: name,
      payload: body,
      traceparent: optional,
      tracestate: optional,
    },
    { requiredKeys: ['type', 'subscriptionId', 'topic'] },
  ),
  fc.record({ type: fc.constant('error' as const), error: wireError }),
  fc.record({ type: fc.constant('retry' as const), id: name, cookie }),
);

/** The bytes before an envelope's body: cutting anywhere in them must be refused. */
function fieldBytes(e: Envelope): number {
  if (e.type === 'reply' && !e.ok) return encodeEnvelope({ type: 'reply', id: e.id, ok: true }).length;
  if (e.type === 'error') return 1;
  if (e.type === 'request' || e.type === 'event') return encodeEnvelope({ ...e, payload: undefined }).length;
  if (e.type === 'reply') return encodeEnvelope({ ...e, result: undefined }).length;
  return encodeEnvelope(e).length;
}

describe('envelope codec', () => {
  it('round-trips every type, multibyte text in every field and body', () => {
    const all: Envelope[] = [
      {
        type: 'request',
        id: `r-${MULTIBYTE}`,
        service: MULTIBYTE,
        method: MULTIBYTE,
        payload: { text: MULTIBYTE, n: [1, null, true] },
        timeoutMs: 1_500.5,
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
        tracestate: `vendor=${MULTIBYTE}`,
      },
      { type: 'request', id: 'r', service: 's', method: 'm', timeoutMs: 1 },
      { type: 'reply', id: MULTIBYTE, ok: true, result: MULTIBYTE },
      { type: 'reply', id: 'r', ok: true },
      { type: 'reply', id: 'r', ok: true, result: null },
      { type: 'reply', id: 'r', ok: false, error: { code: 'NOT_FOUND', message: MULTIBYTE, retryAfterS: 3 } },
      { type: 'subscribe', id: 'r', subscriptionId: MULTIBYTE, topic: MULTIBYTE, group: MULTIBYTE, ttlMs: 6_000 },
      { type: 'subscribe', id: 'r', subscriptionId: 's', topic: 't', group: '' },
      { type: 'unsubscribe', id: MULTIBYTE, subscriptionId: MULTIBYTE },
      { type: 'event', subscriptionId: 's', topic: MULTIBYTE, payload: [MULTIBYTE], traceparent: 'x' },
      { type: 'error', error: { code: 'INVALID_ARGUMENT', message: MULTIBYTE } },
      { type: 'request', id: 'r', service: 's', method: 'm', timeoutMs: 1, payload: MULTIBYTE, cookie: COOKIE },
      { type: 'subscribe', id: 'r', subscriptionId: 's', topic: 't', cookie: COOKIE },
      { type: 'retry', id: MULTIBYTE, cookie: COOKIE },
    ];
    for (const e of all) expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
  });

  it('leaves the reserved bytes in front free, and counts the message in bytes', () => {
    const e: Envelope = { type: 'reply', id: 'é', ok: true, result: '🐦' };
    const bytes = encodeEnvelope(e, 7);
    expect(bytes.length).toBe(7 + 1 + 2 + 2 + Buffer.byteLength('"🐦"'));
    expect(bytes[7]).toBe(MESSAGE_TYPE.replyOk);
    expect(decodeEnvelope(bytes.subarray(7))).toEqual(e);
  });

  it('refuses what an encoder would never write, saying what is wrong', () => {
    const { request, replyError, subscribe, unsubscribe, error, cookie: prefix, retry } = MESSAGE_TYPE;
    const unsubscribeMessage = encodeEnvelope({ type: 'unsubscribe', id: 'r', subscriptionId: 's' });
    const cookied = encodeEnvelope({
      type: 'request',
      id: 'r',
      service: 's',
      method: 'm',
      timeoutMs: 1,
      cookie: COOKIE,
    });
    const cases: Array<[Buffer, string]> = [
      [Buffer.alloc(0), 'message is empty'],
      [Buffer.from('{"type":"request"}'), 'unknown message type 0x7b'],
      [rawMessage(0), 'unknown message type 0x00'],
      [rawMessage(request, 1000, 'r', 's'), 'message is cut short'],
      [rawMessage(request, 1000, 'r', 's', rawLength(5), 'm'), 'message is cut short'],
      [rawMessage(request).subarray(0, 5), 'message is cut short'],
      [rawMessage(request, 1000, '', 's', 'm', null, null), 'request.id must be a non-empty string'],
      [rawMessage(request, 1000, 'r', null, 'm', null, null), 'request.service must be a non-empty string'],
      [rawMessage(request, 0, 'r', 's', 'm', null, null), 'request.timeoutMs must be a positive number'],
      [rawMessage(request, NaN, 'r', 's', 'm', null, null), 'request.timeoutMs must be a positive number'],
      [rawMessage(request, Infinity, 'r', 's', 'm', null, null), 'request.timeoutMs must be a positive number'],
      [rawMessage(request, 1000, 'r', 's', 'm', null, null, Buffer.from('{')), 'message body is not valid JSON'],
      [
        rawMessage(replyError, 'r', Buffer.from('{"code":"NOPE","message":"x"}')),
        'an error reply needs {code, message}',
      ],
      [rawMessage(replyError, 'r'), 'an error reply needs {code, message}'],
      [rawMessage(subscribe, -1, 'r', 's', 't', null), 'subscribe.ttlMs must be a positive number'],
      [rawMessage(subscribe, NaN, 'r', 's', 't', null, Buffer.from('x')), 'bytes after the last field'],
      [rawMessage(unsubscribe, 'r', ''), 'unsubscribe.subscriptionId must be a non-empty string'],
      [rawMessage(error, Buffer.from('[]')), 'error needs {code, message}'],
      [rawMessage(prefix, 'c', unsubscribeMessage), 'a cookie goes before a request or a subscribe, once'],
      [rawMessage(prefix, 'c', cookied), 'a cookie goes before a request or a subscribe, once'],
      [rawMessage(prefix, '', cookied), 'cookie must be 1 to 65534 bytes'],
      [rawMessage(prefix, 'c'), 'message is empty'],
      [rawMessage(retry, 'r', null), 'retry.cookie must be 1 to 65534 bytes'],
      [rawMessage(retry, 'r', 'c', Buffer.from('x')), 'bytes after the last field'],
    ];
    for (const [bytes, message] of cases) expect(refusal(bytes)).toBe(`malformed message: ${message}`);
  });

  it('puts a cookie in front of a message, or replaces the one it has, leaving a header free', () => {
    const request: Envelope = { type: 'request', id: 'r', service: 's', method: 'm', timeoutMs: 1, payload: 1 };
    const bare = encodeEnvelope(request, 5);
    bare.fill(7, 0, 5);
    const once = withCookie(bare, COOKIE, 5);
    expect(once.subarray(0, 5)).toEqual(Buffer.alloc(5, 7));
    expect(once.length).toBe(bare.length + 3 + COOKIE.length);
    expect(decodeEnvelope(once.subarray(5))).toEqual({ ...request, cookie: COOKIE });
    expect(carriesCookie(once, COOKIE, 5)).toBe(true);
    expect(carriesCookie(bare, COOKIE, 5)).toBe(false);
    const other = Buffer.from('0123456789abcdef');
    const twice = withCookie(once, other, 5);
    expect(twice.length).toBe(once.length);
    expect(decodeEnvelope(twice.subarray(5))).toEqual({ ...request, cookie: other });
    expect(carriesCookie(twice, COOKIE, 5)).toBe(false);
    expect(() => encodeEnvelope({ type: 'retry', id: 'r', cookie: Buffer.alloc(0) })).toThrow(TransportError);
  });

  it('refuses to encode a field over the limit, and carries a body of any size', () => {
    const long = 'x'.repeat(MAX_FIELD_BYTES + 1);
    expect(() => encodeEnvelope({ type: 'unsubscribe', id: 'r', subscriptionId: long })).toThrow(TransportError);
    expect(() => encodeEnvelope({ type: 'unsubscribe', id: 'r', subscriptionId: 'é'.repeat(40_000) })).toThrow(
      /80000 bytes is over 65534/,
    );
    const edge = 'x'.repeat(MAX_FIELD_BYTES);
    expect(decodeEnvelope(encodeEnvelope({ type: 'unsubscribe', id: 'r', subscriptionId: edge }))).toMatchObject({
      subscriptionId: edge,
    });
    const big = 'y'.repeat(1 << 20);
    expect(decodeEnvelope(encodeEnvelope({ type: 'reply', id: 'r', ok: true, result: big }))).toMatchObject({
      result: big,
    });
  });

  it('finds the id of a message it refuses, where there is one', () => {
    const { request, replyOk } = MESSAGE_TYPE;
    expect(idOf(rawMessage(request, 1000, 'r1', 's', 'm', null, null, Buffer.from('{')))).toBe('r1');
    expect(idOf(rawMessage(request, -1, 'r2'))).toBe('r2');
    expect(idOf(rawMessage(replyOk, 'r3', Buffer.from('nope')))).toBe('r3');
    expect(idOf(rawMessage(request, 1000, ''))).toBeUndefined();
    expect(idOf(rawMessage(request, 1000))).toBeUndefined();
    expect(idOf(encodeEnvelope({ type: 'event', subscriptionId: 's', topic: 't' }))).toBeUndefined();
    expect(idOf(Buffer.from('{"id":"r4"}'))).toBeUndefined();
  });

  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(envelope, fc.nat({ max: 64 }), (e, reserved) => {
        const bytes = encodeEnvelope(e, reserved);
        expect(decodeEnvelope(bytes.subarray(reserved))).toEqual(roundTripped(e));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any message cut inside its fields (property)', () => {
    fc.assert(
      fc.property(envelope, fc.nat(), (e, at) => {
        const bytes = encodeEnvelope(e);
        const cut = at % fieldBytes(e);
        expect(() => decodeEnvelope(bytes.subarray(0, cut))).toThrow(/^malformed message: /);
      }),
      { numRuns: 500 },
    );
  });

  it('answers any bytes with a well-formed message or INVALID_ARGUMENT, nothing else (property)', () => {
    const mutated = fc
      .tuple(envelope, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([e, flips]) => {
        const bytes = encodeEnvelope(e);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes;
      });
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      mutated,
    );
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        let decoded: Envelope;
        try {
          decoded = decodeEnvelope(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(TransportError);
          expect((err as TransportError).code).toBe('INVALID_ARGUMENT');
          return;
        }
        // What gets through has every field a receiver relies on.
        if ('id' in decoded) expect(decoded.id).not.toBe('');
        if (decoded.type === 'request') {
          expect(decoded.service && decoded.method).toBeTruthy();
          expect(decoded.timeoutMs).toBeGreaterThan(0);
        }
        if (decoded.type === 'reply' && !decoded.ok) expect(Object.keys(ERROR_CODES)).toContain(decoded.error.code);
      }),
      { numRuns: 1_000 },
    );
  });

  it('travels through the TCP framing split anywhere, several to a chunk (property)', () => {
    fc.assert(
      fc.property(fc.array(envelope, { minLength: 1, maxLength: 8 }), fc.array(fc.nat()), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => encodeFrame(encodeEnvelope(m))));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const decoder = new FrameDecoder(1 << 20);
        const received: Envelope[] = [];
        let from = 0;
        for (const point of [...points, stream.length]) {
          for (const frame of decoder.push(stream.subarray(from, point))) received.push(decodeEnvelope(frame));
          from = point;
        }
        expect(received).toEqual(messages.map(roundTripped));
      }),
      { numRuns: 200 },
    );
  });
});
