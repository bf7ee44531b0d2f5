/**
 * Fuzzing the UDP server's way in (signature check, then the envelope decoder) over a real
 * socket, with and without TRANSPORT_SECRET: random bytes, datagrams over the limit,
 * envelopes of every type whose fields are garbage, each sent bare, correctly signed,
 * signed with another key, signed long ago, or signed and cut short, some twice. Whatever
 * arrives, the server must not throw, run a handler or answer; it must count each datagram
 * under exactly one reason for dropping it, and still serve a real client afterwards.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import { decodeEnvelope } from '../envelope.js';
import { REPLAY_WINDOW_MS, SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, sleep, testSecret } from '../testing/index.js';
import { rawUdpPeer } from '../testing/raw-udp-peer.js';
import type { UdpServer } from './index.js';

const NUM_RUNS = 1_000;
const LIMIT = 4_096;
const SECRET = testSecret();

/** Anything but the non-empty string a required field must be. */
const notAString = fc.oneof(
  fc.constant(''),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.nat(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.nat(), { maxKeys: 2 }),
);
const field = fc.oneof(notAString, fc.string({ minLength: 1, maxLength: 20 }));

/** Envelope-shaped JSON with garbage in its fields, never one a server would act on. */
const garbageEnvelope = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom('request', 'reply', 'subscribe', 'unsubscribe', 'event', 'error'), field),
      id: field,
      service: field,
      method: fc.oneof(field, fc.constant('echo')),
      traceparent: field,
      timeoutMs: fc.oneof(fc.integer(), fc.double(), field),
      subscriptionId: field,
      topic: field,
      group: field,
      ttlMs: fc.oneof(fc.integer(), field),
      ok: fc.oneof(fc.boolean(), field),
      error: fc.oneof(field, fc.record({ code: field, message: field })),
      payload: fc.anything({ maxDepth: 2 }),
    },
    { requiredKeys: ['type'] },
  )
  .map((m) => JSON.stringify(m))
  .filter((text) => {
    try {
      const { type } = decodeEnvelope(text);
      return type !== 'request' && type !== 'subscribe' && type !== 'unsubscribe';
    } catch {
      return true;
    }
  });

const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: LIMIT + 1, max: 3 * LIMIT }).map((n) => Buffer.alloc(n, '{')), // over the limit
  garbageEnvelope.map((text) => Buffer.from(text)),
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
