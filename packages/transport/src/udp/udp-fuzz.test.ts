/**
 * Fuzzing the UDP server's way in (signature check, then the envelope decoder) over a real
 * socket, with and without TRANSPORT_SECRET: random bytes, datagrams over the limit,
 * messages of every type whose fields are garbage, batches of them (with a real request among
 * them or not), each sent bare, correctly signed,
 * signed with another key, signed long ago, or signed and cut short, some twice. Whatever
 * arrives, the server must not throw, run a handler or answer; it must count each datagram
 * under exactly one reason for dropping it, and still serve a real client afterwards.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import { MESSAGE_TYPE, decodeEnvelope, encodeEnvelope } from '../envelope.js';
import { REPLAY_WINDOW_MS, SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, sleep, testSecret } from '../testing/index.js';
import { rawUdpPeer } from '../testing/raw-udp-peer.js';
import { rawBatch, rawLength, rawMessage } from '../testing/wire.js';
import type { UdpServer } from './index.js';

const NUM_RUNS = 1_000;
const LIMIT = 4_096;
const SECRET = testSecret();

/** Anything but the non-empty string a required field must be, or a bare length with nothing behind it. */
const notAString = fc.oneof(
  fc.constant(''),
  fc.constant(null), // absent
  fc.integer({ min: 0, max: 0xffff }).map(rawLength),
  fc.uint8Array({ maxLength: 3 }).map((bytes) => Buffer.from(bytes)),
);
const field = fc.oneof(notAString, fc.string({ minLength: 1, maxLength: 20 }), fc.constant('echo'));
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, 0, -1, 1000));
const jsonBody = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.anything({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  fc
    .record({ code: fc.oneof(field, fc.constant('INTERNAL')), message: field })
    .map((e) => Buffer.from(JSON.stringify(e))),
  fc.string({ maxLength: 20 }).map((text) => Buffer.from(text)),
);

/**
 * Messages of every type (and unknown ones) whose fields are garbage: wrong kinds in each slot,
 * too few or too many, lengths past the end, bodies that are not JSON, cut short anywhere. Never
 * one a server would act on: those that happen to decode as a request or a registration are left out.
 */
const garbageEnvelope = fc
  .tuple(
    fc.oneof(fc.constantFrom(...Object.values(MESSAGE_TYPE)), fc.integer({ min: 0, max: 255 })),
    fc.array(fc.oneof(field, number), { maxLength: 7 }),
    fc.option(jsonBody, { nil: undefined }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([type, fields, body, cut]) => {
    const message = rawMessage(type, ...fields, ...(body === undefined ? [] : [body]));
    return cut === undefined ? message : message.subarray(0, cut % (message.length + 1));
  })
  .filter((message) => {
    try {
      const { type } = decodeEnvelope(message);
      return type !== 'request' && type !== 'subscribe' && type !== 'unsubscribe';
    } catch {
      return true;
    }
  });

/** A request the server would run, were it not in a batch beside garbage. */
const REAL_REQUEST = encodeEnvelope({ type: 'request', id: 'real', service: 'echo', method: 'echo', timeoutMs: 1_000 });

/** Batches (udp/batch.ts) of garbage, some with a real request among it: one bad message drops the whole datagram. */
const garbageBatch = fc
  .tuple(fc.array(garbageEnvelope, { minLength: 1, maxLength: 4 }), fc.nat({ max: 4 }), fc.boolean())
  .map(([messages, at, withRequest]) => {
    if (withRequest) messages.splice(at % (messages.length + 1), 0, REAL_REQUEST);
    return rawBatch(messages);
  });

const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: LIMIT + 1, max: 3 * LIMIT }).map((n) => Buffer.alloc(n, '{')), // over the limit
  garbageEnvelope,
  garbageBatch,
);

const signer = new Sealer(secretBytes(SECRET));
const stranger = new Sealer(secretBytes(testSecret()));

function sealed(by: Sealer, payload: Buffer, now = Date.now()): Buffer {
  const datagram = Buffer.concat([Buffer.alloc(SEALED_HEADER_BYTES), payload]);
  by.seal(datagram, SEALED.udpToServer, now);
  return datagram;
}

/** How a body is wrapped before it is sent. */
const wrapping = fc.oneof(
  fc.constant((payload: Buffer) => payload),
  fc.constant((payload: Buffer) => sealed(signer, payload)),
  fc.constant((payload: Buffer) => sealed(stranger, payload)),
  fc.constant((payload: Buffer) => sealed(signer, payload, Date.now() - 2 * REPLAY_WINDOW_MS)),
  fc.nat().map((cut) => (payload: Buffer) => {
    const datagram = sealed(signer, payload);
    return datagram.subarray(0, cut % datagram.length);
  }),
);

let world: TestWorld;
afterEach(() => world.close());

describe.each([
  ['without a secret', undefined],
  ['with TRANSPORT_SECRET', SECRET],
])('the UDP server fuzzed %s', (_name, secret) => {
  it(`drops every hostile datagram (${NUM_RUNS} runs) silently, runs nothing, and keeps serving (property)`, async () => {
    world = new TestWorld('udp', { secret, maxMessageBytes: { ...DEFAULT_MAX_MESSAGE_BYTES, udp: LIMIT } });
    let calls = 0;
    const server = (await world.serve('echo', { echo: () => ++calls })) as UdpServer;
    const peer = await rawUdpPeer(server.address);
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(body, wrapping, fc.boolean(), async (payload, wrap, twice) => {
        const datagram = wrap(payload);
        for (let i = twice ? 2 : 1; i > 0; i--) {
          await peer.send(datagram);
          sent++;
        }
      }),
      { numRuns: NUM_RUNS },
    );
    await eventually(() => expect(server.stats.received).toBe(sent), 10_000);
    await sleep(100); // time for a reply, if one were coming
    expect(peer.received).toEqual([]);
    expect(calls).toBe(0);
    const { requests, malformed, oversized, unauthenticated, stale, replayed } = server.stats;
    expect(requests).toBe(0);
    expect(malformed + oversized + unauthenticated + stale + replayed).toBe(sent);
    // Every way of dropping was reached (with a secret, signed garbage gets as far as the decoder).
    expect(Math.min(malformed, oversized)).toBeGreaterThan(0);
    if (secret !== undefined) expect(Math.min(unauthenticated, stale, replayed)).toBeGreaterThan(0);
    peer.close();
    expect(await world.transport().request('echo', 'echo', null)).toBe(1);
  });
});
