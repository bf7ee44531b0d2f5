/**
 * How UDP datagrams are signed and checked. Without TRANSPORT_SECRET a datagram is the
 * envelope alone; with it, the envelope follows a sealed header (signing.ts):
 *
 *    0      1           9                25                              57
 *   +------+-----------+-----------------+-------------------------------+--------------+
 *   | kind | timestamp |  nonce (16)     |  HMAC-SHA256(secret, 0–24 ‖   |   envelope   |
 *   | (1)  | (8, ms)   |                 |  envelope) (32)               | (envelope.ts) |
 *   +------+-----------+-----------------+-------------------------------+--------------+
 *
 * kind is 0xC1 towards a server, 0xC2 towards a client. Each datagram is checked on its
 * own (UDP has no connection to hang a session on): MAC, ±30 s window, nonce not seen.
 * A retransmission is sealed again (new timestamp and nonce), so that the server's
 * de-duplication by request id, not the replay check, decides what a retry gets; a copy
 * the network duplicated is a replay and dropped. The 57 header bytes count against the
 * datagram size limit.
 */
import { SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes, type AuthStats, type SealedKind } from '../signing.js';

export interface DatagramAuth {
  /** Bytes to leave free before the envelope (encodeEnvelope's `reserved`); seal the datagram before sending. */
  readonly headerBytes: number;
  /** Give `datagram` a fresh timestamp, nonce and MAC in place: before each (re)transmission. */
  seal(datagram: Buffer): void;
  /** A freshly sealed copy, for a datagram that may still be in flight (a cached reply sent again). */
  resealed(datagram: Buffer): Buffer;
  /** The envelope's bytes, or undefined for a datagram to drop (counted in `stats`). */
  open(datagram: Buffer, stats: AuthStats): Buffer | undefined;
}

/** The signing of one side: a client seals towards servers and opens what comes back; a server the reverse. */
export function datagramAuth(secret: string | undefined, side: 'client' | 'server'): DatagramAuth {
  if (secret === undefined) return UNSIGNED;
  const sealer = new Sealer(secretBytes(secret));
  const [outgoing, incoming] =
    side === 'client' ? [SEALED.udpToServer, SEALED.udpToClient] : [SEALED.udpToClient, SEALED.udpToServer];
  return new SignedDatagrams(sealer, outgoing, incoming);
}

const UNSIGNED: DatagramAuth = {
  headerBytes: 0,
  seal: () => {},
  resealed: (datagram) => datagram,
  open: (datagram) => datagram,
};

class SignedDatagrams implements DatagramAuth {
  readonly headerBytes = SEALED_HEADER_BYTES;
  readonly #sealer: Sealer;
  readonly #outgoing: SealedKind;
  readonly #incoming: SealedKind;

  constructor(sealer: Sealer, outgoing: SealedKind, incoming: SealedKind) {
    this.#sealer = sealer;
    this.#outgoing = outgoing;
    this.#incoming = incoming;
  }

  seal(datagram: Buffer): void {
    this.#sealer.seal(datagram, this.#outgoing);
  }

  resealed(datagram: Buffer): Buffer {
    const copy = Buffer.from(datagram);
    this.seal(copy);
    return copy;
  }

  open(datagram: Buffer, stats: AuthStats): Buffer | undefined {
    const refusal = this.#sealer.open(datagram, this.#incoming);
    if (refusal === undefined) return datagram.subarray(SEALED_HEADER_BYTES);
    stats[refusal]++;
    return undefined;
  }
}
