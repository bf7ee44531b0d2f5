/**
 * Address validation for UDP, the server's check (AddressCheck) and the client's answer
 * (answerRetry): what keeps a UDP server from being a reflector and amplifier.
 *
 * A datagram's source address is whatever its sender wrote there. Without a check, anyone could
 * send a 231-byte request "from" a victim's address and have the server send the victim a
 * 21,133-byte reply (×91), or subscribe the victim to every `post.created`. TRANSPORT_SECRET does
 * not close this on its own: a signature proves who made a message, not where it came from. A
 * holder of the secret (any compromised service or web container) could aim the services at any
 * host, and a datagram captured on its way to one replica can be replayed to another, once, from
 * a forged address (the nonce is only remembered per process). So the check applies with or
 * without the secret; with it, the retry datagram is signed like every other.
 *
 * As DNS cookies (RFC 7873) and QUIC's address validation (RFC 9000 §8) do, a source proves it
 * receives at its address before it is sent more bytes than it sent:
 *
 *   client                                         server
 *     request, no cookie (231 B) ───────────────▶  runs it once; the reply (21 KB) is bigger than
 *                                                  the request and the source unproven: the reply
 *     ◀────────────── retry: id + cookie (≤ 231 B) is cached (reply-cache.ts), a retry goes instead
 *     the same request + cookie ────────────────▶  cookie checks out: the cached reply
 *     ◀───────────────────────────── reply (21 KB)
 *     every later request + cookie ─────────────▶  answered at once: no extra round trip
 *
 * A reply no bigger than its request goes straight back, cookie or not: it amplifies nothing.
 * A retry is never bigger than the datagram it answers (one that would be is not sent). A
 * subscription is registered only with a valid cookie, since the events that follow are not
 * bounded by the subscribe's size: a forged subscribe gets one retry at the victim, nothing more.
 * The request still runs: this limits what a forged source gets back, not who may call (that is
 * TRANSPORT_SECRET's job).
 *
 *   cookie = HMAC-SHA256(key, address ‖ port ‖ period), first 16 bytes
 *
 * where `key` is random per server (a restart invalidates every cookie: one retry per client) and
 * `period` = floor(now / COOKIE_PERIOD_MS). Cookies of this period and the one before are taken,
 * so a cookie lives 5 to 10 minutes and a client pays one extra round trip per server that often.
 * Nothing is stored per unproven source: a forged one costs the server an HMAC, no memory.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { carriesCookie, withCookie } from '../envelope.js';
import type { Outgoing } from './retransmit.js';

/** 128 bits of HMAC: guessing one is out of reach (and a wrong guess only earns a retry). */
export const COOKIE_BYTES = 16;
export const COOKIE_PERIOD_MS = 5 * 60_000;
/** What a cookie adds to a request (envelope.ts's prefix): a client keeps this much room for it. */
export const COOKIE_PREFIX_BYTES = 3 + COOKIE_BYTES;
/** A request is sent again at once after a retry this many times at most (see answerRetry). */
const MAX_RESENDS_PER_REQUEST = 3;
/** Proven sources remembered (by port), so a busy client's calls are not an HMAC each; then forgotten at once. */
const MAX_PROVEN = 4_096;

interface Proven {
  address: string;
  cookie: Buffer;
  period: number;
}

export class AddressCheck {
  readonly #key: KeyObject = createSecretKey(randomBytes(32));
  readonly #periodMs: number;
  readonly #now: () => number;
  /** The last cookie each port proved with, and from which address: a repeat is checked without an HMAC. */
  readonly #proven = new Map<number, Proven>();

  constructor(periodMs = COOKIE_PERIOD_MS, now: () => number = Date.now) {
    this.#periodMs = periodMs;
    this.#now = now;
  }

  /** The cookie that `address`:`port` is to send back. */
  cookieFor(address: string, port: number): Buffer {
    return this.#mac(address, port, this.#period());
  }

  /** Whether `cookie` proves that its sender receives at `address`:`port`. */
  verify(cookie: Buffer | undefined, address: string, port: number): boolean {
    if (cookie === undefined || cookie.length !== COOKIE_BYTES) return false;
    const period = this.#period();
    const known = this.#proven.get(port);
    if (known !== undefined && known.address === address && period - known.period <= 1) {
      if (timingSafeEqual(known.cookie, cookie)) return true;
    }
    for (const p of [period, period - 1]) {
      if (timingSafeEqual(this.#mac(address, port, p), cookie)) {
        if (this.#proven.size >= MAX_PROVEN) this.#proven.clear();
        this.#proven.set(port, { address, cookie: Buffer.from(cookie), period: p });
        return true;
      }
    }
    return false;
  }

  #period(): number {
    return Math.floor(this.#now() / this.#periodMs);
  }

  #mac(address: string, port: number, period: number): Buffer {
    return createHmac('sha256', this.#key).update(`${address}|${port}|${period}`).digest().subarray(0, COOKIE_BYTES);
  }
}

/**
 * Client side: a retry carrying `cookie` came for the request being sent as `entry`. The peer
 * keeps the cookie for every later request; the request's datagram takes it too, and is
 * returned to be sent again at once. Undefined when it already carried that cookie, or after a
 * few resends (a server that keeps asking sees our address change): its retransmissions go on.
 */
export function answerRetry<Peer extends { cookie: Buffer | undefined }>(
  peer: Peer,
  entry: Outgoing<Peer>,
  cookie: Buffer,
  reserved: number,
): Buffer | undefined {
  if (cookie.length !== COOKIE_BYTES) return undefined;
  if (peer.cookie === undefined || !peer.cookie.equals(cookie)) peer.cookie = Buffer.from(cookie);
  if (carriesCookie(entry.datagram, cookie, reserved) || entry.challenges >= MAX_RESENDS_PER_REQUEST) return undefined;
  entry.challenges++;
  entry.datagram = withCookie(entry.datagram, peer.cookie, reserved);
  return entry.datagram;
}
