/**
 * Authenticated TCP connections (TRANSPORT_SECRET set): a one-message handshake, then a
 * MAC on every frame (the frame layout is drawn in framing.ts).
 *
 *   client → server  hello: the connection's first frame, a sealed header (signing.ts) of
 *                    kind tcpHello and no payload: timestamp, nonce, MAC with the secret
 *   then each way    frame body = MAC (32 bytes) ‖ payload, where
 *                    MAC = HMAC-SHA256(key of that direction, frame number (uint64 BE) ‖ payload)
 *   keys             HMAC-SHA256(secret, "client→server" or "server→client" ‖ hello's signed bytes)
 *
 * Why a handshake rather than a timestamp and nonce in every frame: TCP already delivers a
 * connection's frames once and in order, so a frame number that both ends count (never
 * sent) is a nonce that costs nothing and needs no memory. Freshness and replay are then
 * checked once per connection, on the hello, exactly as for a UDP datagram. A frame
 * replayed within its connection carries the wrong number; one replayed on another
 * connection (or a whole captured connection replayed) was made with another hello's keys,
 * and that hello is stale or already seen; a server's frames replayed to a client fail the
 * same way, since the client's hello was fresh. Per frame that leaves one HMAC with a key
 * object made once per connection, and 32 bytes. The hello goes out in the same write as
 * the first request, so no round trip is added.
 *
 * Without a secret, a client still opens with a hello of the same size and kind, all zeros
 * after its kind byte (UNSIGNED_HELLO): nothing is proved, but a server then knows a client
 * from a stranger's first frame, which it holds to a few KiB (limits.ts), while a real
 * client's first request may be as large as any other. A first frame that is not this hello
 * (an older client, a test's raw socket) is read as a message.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { MAC_BYTES, SEALED, SEALED_HEADER_BYTES, type Refusal, type Sealer } from '../signing.js';
import { FRAME_HEADER_BYTES } from './framing.js';

/** How one end of a connection signs what it writes and checks what it reads. */
export interface FrameAuth {
  /** Bytes at the start of a frame's body before the payload (room for the MAC). */
  readonly macBytes: number;
  /** Sign a frame with `macBytes` left before its payload, right before writing it (frames are numbered). */
  seal(frame: Buffer): void;
  /** The payload of a frame body that arrived, or undefined if its MAC is wrong. */
  open(body: Buffer): Buffer | undefined;
}

/** No TRANSPORT_SECRET: frames are the payload alone. */
export const UNSIGNED_FRAMES: FrameAuth = { macBytes: 0, seal: () => {}, open: (body) => body };

const CLIENT_TO_SERVER = 'client→server';
const SERVER_TO_CLIENT = 'server→client';

/** A new unsigned connection's first frame: a hello's shape, no proof (see above). */
export const UNSIGNED_HELLO: Buffer = (() => {
  const hello = Buffer.alloc(FRAME_HEADER_BYTES + SEALED_HEADER_BYTES);
  hello.writeUInt32BE(SEALED_HEADER_BYTES, 0);
  hello[FRAME_HEADER_BYTES] = SEALED.tcpHello;
  return hello;
})();

/** Whether a first frame's body is an unsigned client's hello (no message starts with this kind byte). */
export function isUnsignedHello(body: Buffer): boolean {
  return body.length === SEALED_HEADER_BYTES && body[0] === SEALED.tcpHello;
}

/** A new connection's hello frame (ready to write) and the client end's frame signing. */
export function openSession(sealer: Sealer, now = Date.now()): { hello: Buffer; auth: FrameAuth } {
  const hello = Buffer.allocUnsafe(FRAME_HEADER_BYTES + SEALED_HEADER_BYTES);
  hello.writeUInt32BE(SEALED_HEADER_BYTES, 0);
  const signed = hello.subarray(FRAME_HEADER_BYTES);
  sealer.seal(signed, SEALED.tcpHello, now);
  return {
    hello,
    auth: new SignedFrames(sealer.derive(CLIENT_TO_SERVER, signed), sealer.derive(SERVER_TO_CLIENT, signed)),
  };
}

/** The server end's frame signing for a connection whose first frame body is `hello`, or why it is refused. */
export function acceptSession(sealer: Sealer, hello: Buffer): FrameAuth | Refusal {
  if (hello.length !== SEALED_HEADER_BYTES) return 'unauthenticated';
  const refusal = sealer.open(hello, SEALED.tcpHello);
  if (refusal !== undefined) return refusal;
  return new SignedFrames(sealer.derive(SERVER_TO_CLIENT, hello), sealer.derive(CLIENT_TO_SERVER, hello));
}

class SignedFrames implements FrameAuth {
  readonly macBytes = MAC_BYTES;
  readonly #outgoing: FrameMac;
  readonly #incoming: FrameMac;

  constructor(outgoing: KeyObject, incoming: KeyObject) {
    this.#outgoing = new FrameMac(outgoing);
    this.#incoming = new FrameMac(incoming);
  }

  seal(frame: Buffer): void {
    this.#outgoing.next(frame.subarray(FRAME_HEADER_BYTES + MAC_BYTES)).copy(frame, FRAME_HEADER_BYTES);
  }

  open(body: Buffer): Buffer | undefined {
    if (body.length < MAC_BYTES) return undefined;
    const expected = this.#incoming.next(body.subarray(MAC_BYTES));
    return timingSafeEqual(expected, body.subarray(0, MAC_BYTES)) ? body.subarray(MAC_BYTES) : undefined;
  }
}

/** MACs of one direction's frames, numbered from 0. */
class FrameMac {
  readonly #key: KeyObject;
  readonly #number = Buffer.alloc(8);
  #count = 0;

  constructor(key: KeyObject) {
    this.#key = key;
  }

  next(payload: Buffer): Buffer {
    this.#number.writeUInt32BE(Math.floor(this.#count / 2 ** 32), 0);
    this.#number.writeUInt32BE(this.#count >>> 0, 4);
    this.#count++;
    return createHmac('sha256', this.#key).update(this.#number).update(payload).digest();
  }
}
