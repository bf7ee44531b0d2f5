/**
 * Service-to-service trust for TCP, UDP and HTTP, from one shared secret (TRANSPORT_SECRET):
 * a message proves it was made by a holder of the secret, recently, and only once. AMQP is
 * not covered (the broker has its own credentials).
 *
 * A sealed message starts with this header; the MAC covers the header's first 25 bytes
 * and the payload after it, so no field can be changed, cut or moved:
 *
 *    0       1                               9                              25
 *   +-------+-------------------------------+-------------------------------+
 *   | kind  | timestamp, ms since the epoch |         nonce, 16 random bytes |
 *   |  (1)  |   (uint64 big-endian, 8)      |              (16)              |
 *   +-------+-------------------------------+-------------------------------+
 *   |     HMAC-SHA256(secret, bytes 0–24 ‖ payload)  (32 bytes, 25–56)      |
 *   +-----------------------------------------------------------------------+
 *   |     payload (57–): what the unsigned transport would have sent        |
 *   +-----------------------------------------------------------------------+
 *
 * A seal can also travel apart from what it covers (sealApart: an HTTP request's
 * x-chirp-seal header, covering its method, path and body): the same 57 bytes, the MAC then
 * covering bytes 0–24 and each part preceded by its length (4 bytes, big-endian), so bytes
 * cannot move from one part to the next.
 *
 * `kind` is the format version and the message's direction at once (SEALED), so a
 * datagram signed for a server is refused by a client and the reverse, and a future
 * format takes new values. The MAC is checked with timingSafeEqual before anything else
 * is trusted; then the timestamp must be within ±REPLAY_WINDOW_MS of the receiver's
 * clock, and the nonce must not have been seen (ReplayGuard).
 *
 * Limits, by design: nonces are remembered per receiving process, so a message captured
 * on its way to one replica can be replayed once to another replica (or to a restarted
 * process) while its timestamp is in the window. TLS (TCP_TLS_*) closes that: nothing can
 * be captured in clear. The secret authenticates services, not users.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** 256 bits: HMAC-SHA256's own strength; shorter secrets are refused. */
export const MIN_SECRET_BYTES = 32;
/** How far a timestamp may be from the receiver's clock: covers clock skew and delivery time. */
export const REPLAY_WINDOW_MS = 30_000;
export const MAC_BYTES = 32;
export const NONCE_BYTES = 16;
const TIMESTAMP_AT = 1;
const NONCE_AT = 9;
const MAC_AT = 25;
export const SEALED_HEADER_BYTES = MAC_AT + MAC_BYTES;

/** Version 1 of the sealed header, one value per use. */
export const SEALED = {
  udpToServer: 0xc1,
  udpToClient: 0xc2,
  tcpHello: 0xc3,
  /** An HTTP request to a service's listener: a call, a (un)registration of a webhook. */
  httpToServer: 0xc4,
  /** An HTTP request from a publisher to a subscriber's callback: an event, a challenge. */
  httpToCallback: 0xc5,
} as const;
export type SealedKind = (typeof SEALED)[keyof typeof SEALED];

/** Why a message was refused, counted by the receiver. */
export type Refusal = 'unauthenticated' | 'stale' | 'replayed';

export interface AuthStats {
  /** Dropped: unsigned, signed with another key, cut short or altered. */
  unauthenticated: number;
  /** Dropped: correctly signed, but its timestamp is outside the window. */
  stale: number;
  /** Dropped: correctly signed, but its nonce was already seen inside the window. */
  replayed: number;
}

export function emptyAuthStats(): AuthStats {
  return { unauthenticated: 0, stale: 0, replayed: 0 };
}

/** The secret as bytes; throws a one-line error naming the variable if it is too short. */
export function secretBytes(secret: string): Buffer {
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new Error(
      `TRANSPORT_SECRET is ${bytes.length} bytes; it must be at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return bytes;
}

/**
 * Signs and checks sealed messages (a UDP datagram, a TCP hello). The HMAC key object is
 * made once; sealing writes timestamp, nonce and MAC into the message's own header.
 */
export class Sealer {
  readonly #key: KeyObject;
  readonly #guard: ReplayGuard;
  readonly #nonces = new NoncePool();

  constructor(secret: Buffer, guard = new ReplayGuard()) {
    this.#key = createSecretKey(secret);
    this.#guard = guard;
  }

  /** Fill in the header of `message` (its first SEALED_HEADER_BYTES are reserved for it). */
  seal(message: Buffer, kind: SealedKind, now = Date.now()): void {
    this.#stamp(message, kind, now);
    this.#mac(message).copy(message, MAC_AT);
  }

  /** Check a sealed message of `kind`; on success its payload starts at SEALED_HEADER_BYTES. */
  open(message: Buffer, kind: SealedKind, now = Date.now()): Refusal | undefined {
    if (message.length < SEALED_HEADER_BYTES || message[0] !== kind) return 'unauthenticated';
    return this.#check(message, this.#mac(message), now);
  }

  /** A header of its own (SEALED_HEADER_BYTES) sealing `parts`, which travel beside it. */
  sealApart(kind: SealedKind, parts: ReadonlyArray<string | Buffer>, now = Date.now()): Buffer {
    const header = Buffer.allocUnsafe(SEALED_HEADER_BYTES);
    this.#stamp(header, kind, now);
    this.#macOfParts(header, parts).copy(header, MAC_AT);
    return header;
  }

  /** Check a header made by sealApart against the `parts` that came with it. */
  openApart(
    header: Buffer,
    kind: SealedKind,
    parts: ReadonlyArray<string | Buffer>,
    now = Date.now(),
  ): Refusal | undefined {
    if (header.length !== SEALED_HEADER_BYTES || header[0] !== kind) return 'unauthenticated';
    return this.#check(header, this.#macOfParts(header, parts), now);
  }

  /**
   * HMAC of `label` and `parts` (length-prefixed) with the secret: what a challenge is answered
   * with, proving the answer came from a holder of the secret (see answerChallenge).
   */
  tag(label: string, parts: ReadonlyArray<string | Buffer>): Buffer {
    const hmac = createHmac('sha256', this.#key).update(label);
    for (const part of parts) hmac.update(lengthOf(part)).update(part);
    return hmac.digest();
  }

  /** HMAC of `label` and a sealed message's signed fields: a key of its own for one session. */
  derive(label: string, message: Buffer): KeyObject {
    return createSecretKey(createHmac('sha256', this.#key).update(label).update(message.subarray(0, MAC_AT)).digest());
  }

  #stamp(message: Buffer, kind: SealedKind, now: number): void {
    message[0] = kind;
    message.writeUInt32BE(Math.floor(now / 2 ** 32), TIMESTAMP_AT);
    message.writeUInt32BE(now >>> 0, TIMESTAMP_AT + 4);
    this.#nonces.fill(message, NONCE_AT);
  }

  /** The MAC first (timingSafeEqual), then the window and the nonce. */
  #check(header: Buffer, expected: Buffer, now: number): Refusal | undefined {
    if (!timingSafeEqual(expected, header.subarray(MAC_AT, SEALED_HEADER_BYTES))) return 'unauthenticated';
    const timestamp = header.readUInt32BE(TIMESTAMP_AT) * 2 ** 32 + header.readUInt32BE(TIMESTAMP_AT + 4);
    return this.#guard.check(timestamp, header.toString('latin1', NONCE_AT, MAC_AT), now);
  }

  #mac(message: Buffer): Buffer {
    return createHmac('sha256', this.#key)
      .update(message.subarray(0, MAC_AT))
      .update(message.subarray(SEALED_HEADER_BYTES))
      .digest();
  }

  #macOfParts(header: Buffer, parts: ReadonlyArray<string | Buffer>): Buffer {
    const hmac = createHmac('sha256', this.#key).update(header.subarray(0, MAC_AT));
    for (const part of parts) hmac.update(lengthOf(part)).update(part);
    return hmac.digest();
  }
}

function lengthOf(part: string | Buffer): Buffer {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(typeof part === 'string' ? Buffer.byteLength(part) : part.length);
  return length;
}

/**
 * Without a secret a challenge is still answered with an HMAC, under this public key: it proves
 * nothing about who answered, only that Chirp's code did, so a server that merely echoes or
 * records requests (the target of a forged registration) cannot pass.
 */
const PUBLIC_CHALLENGE_KEY = Buffer.from('chirp: a challenge answered without TRANSPORT_SECRET');
let publicChallenger: Sealer | undefined;

/** Random bytes for a challenge to a would-be subscriber: 128 bits, never reused. */
export function newChallenge(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/**
 * The answer a subscriber gives to `challenge` for the subscription described by `binding`
 * (topic, where events go…): HMAC with the secret when `sealer` is set, else with a public key.
 * A publisher registers a callback only once it has answered (HTTP webhooks, UDP subscriptions).
 */
export function answerChallenge(sealer: Sealer | undefined, challenge: Buffer, binding: readonly string[]): Buffer {
  const by = sealer ?? (publicChallenger ??= new Sealer(PUBLIC_CHALLENGE_KEY));
  return by.tag('chirp challenge v1', [challenge, ...binding]);
}

/** Whether `answer` is the right one, compared in constant time. */
export function challengeAnswered(
  sealer: Sealer | undefined,
  challenge: Buffer,
  binding: readonly string[],
  answer: Buffer,
): boolean {
  const expected = answerChallenge(sealer, challenge, binding);
  return answer.length === expected.length && timingSafeEqual(answer, expected);
}

/** Remembered nonces past which the oldest second of the window is forgotten (see check). */
const MAX_REMEMBERED_NONCES = 1_000_000;
const BUCKET_MS = 1_000;

/**
 * The nonces seen inside the window, in one set per second of the messages' own
 * timestamps: a replay carries the same timestamp (it is signed), so it is looked up in
 * one set, and a whole second is forgotten at once when every timestamp in it has left
 * the window. Memory is the signed message rate × the window (about 70 bytes a nonce),
 * and never more than MAX_REMEMBERED_NONCES (~70 MB): past that the oldest second is forgotten
 * early and timestamps in it are refused as stale from then on, so the window shrinks
 * from its old end instead of a forgotten nonce becoming replayable.
 */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #maxNonces: number;
  readonly #buckets = new Map<number, Set<string>>();
  #size = 0;
  /** Timestamps before this are refused: their second was forgotten to stay under the cap. */
  #floor = 0;
  #nextPruneAt = 0;

  constructor(windowMs = REPLAY_WINDOW_MS, maxNonces = MAX_REMEMBERED_NONCES) {
    this.#windowMs = windowMs;
    this.#maxNonces = maxNonces;
  }

  /** Nonces held now. */
  get size(): number {
    return this.#size;
  }

  check(timestamp: number, nonce: string, now = Date.now()): Refusal | undefined {
    if (Math.abs(now - timestamp) > this.#windowMs || timestamp < this.#floor) return 'stale';
    if (now >= this.#nextPruneAt) this.#prune(now);
    const second = Math.floor(timestamp / BUCKET_MS);
    let bucket = this.#buckets.get(second);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(second, bucket);
    } else if (bucket.has(nonce)) {
      return 'replayed';
    }
    bucket.add(nonce);
    if (++this.#size > this.#maxNonces) this.#forgetOldest();
    return undefined;
  }

  /** Forget every second whose timestamps have all left the window. */
  #prune(now: number): void {
    for (const [second, bucket] of this.#buckets) {
      if ((second + 1) * BUCKET_MS + this.#windowMs <= now) this.#forget(second, bucket);
    }
    this.#nextPruneAt = now + BUCKET_MS;
  }

  #forgetOldest(): void {
    const oldest = Math.min(...this.#buckets.keys());
    this.#forget(oldest, this.#buckets.get(oldest)!);
    this.#floor = Math.max(this.#floor, (oldest + 1) * BUCKET_MS);
  }

  #forget(second: number, bucket: Set<string>): void {
    this.#buckets.delete(second);
    this.#size -= bucket.size;
  }
}

/** Random nonces copied from a pool refilled 4 KiB at a time, not one randomBytes call each. */
class NoncePool {
  #pool = randomBytes(4096);
  #offset = 0;

  fill(target: Buffer, at: number): void {
    if (this.#offset + NONCE_BYTES > this.#pool.length) {
      this.#pool = randomBytes(this.#pool.length);
      this.#offset = 0;
    }
    this.#pool.copy(target, at, this.#offset, this.#offset + NONCE_BYTES);
    this.#offset += NONCE_BYTES;
  }
}
