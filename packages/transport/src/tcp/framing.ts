/**
 * TCP is a byte stream: it keeps order but not message boundaries. Each message is sent
 * as one frame, its length first:
 *
 *    0               1               2               3
 *    0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *   +---------------------------------------------------------------+
 *   |          payload length in bytes (uint32, big-endian)         |
 *   +---------------------------------------------------------------+
 *   |          payload: one message (envelope.ts) ...               |
 *   +---------------------------------------------------------------+
 *
 * The length is counted in bytes, never characters, and checked against the maximum as
 * soon as its 4 bytes arrive: a peer announcing a 4 GiB frame is refused before a byte of
 * it is buffered. Chunks are kept as they arrive and only joined when a frame spans them.
 * A server holds a connection's first frame to a smaller maximum (limits.ts): before a
 * peer has said who it is, it may not make the server wait for a megabyte.
 *
 * With TRANSPORT_SECRET set (session.ts), a connection opens with a hello frame and every
 * frame after it carries a MAC before the payload; the length covers both:
 *
 *   +---------------------------------------------------------------+
 *   |          MAC length + payload length (uint32, big-endian)     |
 *   +---------------------------------------------------------------+
 *   |  HMAC-SHA256(session key, frame number ‖ payload): 32 bytes   |
 *   +---------------------------------------------------------------+
 *   |          payload: one message (envelope.ts) ...               |
 *   +---------------------------------------------------------------+
 */
export const FRAME_HEADER_BYTES = 4;

export class FrameError extends Error {
  override readonly name = 'FrameError';
  /** The length was over the maximum (rather than zero). */
  readonly tooLarge: boolean;

  constructor(message: string, tooLarge = false) {
    super(message);
    this.tooLarge = tooLarge;
  }
}

/**
 * One frame holding `payload` (text as UTF-8): header and payload in a single buffer, one write.
 * `reserved` bytes are left before the payload (and counted in the length) for a MAC.
 */
export function encodeFrame(payload: string | Uint8Array, reserved = 0): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + reserved + bytes);
  if (typeof payload === 'string') frame.write(payload, FRAME_HEADER_BYTES + reserved, 'utf8');
  else frame.set(payload, FRAME_HEADER_BYTES + reserved);
  return withLength(frame);
}

/**
 * A frame whose payload was written in place after FRAME_HEADER_BYTES (and any reserved bytes)
 * left free at its start, as `encodeEnvelope(message, FRAME_HEADER_BYTES + reserved)` does:
 * its length filled in, so that nothing is copied.
 */
export function withLength(frame: Buffer): Buffer {
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0);
  return frame;
}

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  /** The maximum for the frame being read: `firstFrameBytes` until one frame is complete. */
  #limit: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Payload length of the frame being read, once its header is in; -1 before. */
  #expected = -1;

  constructor(maxFrameBytes: number, firstFrameBytes = maxFrameBytes) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#limit = Math.min(firstFrameBytes, maxFrameBytes);
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feed bytes as they arrive; get back every frame they complete. Throws FrameError. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const length = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) throw new FrameError('frame of 0 bytes: every frame carries a message');
        if (length > this.#limit) {
          const which = this.#limit < this.#maxFrameBytes ? ' for a first frame' : '';
          throw new FrameError(`frame of ${length} bytes exceeds the maximum of ${this.#limit}${which}`, true);
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      frames.push(this.#take(this.#expected));
      this.#expected = -1;
      this.#limit = this.#maxFrameBytes;
    }
    return frames;
  }

  /** Remove and return the next `n` buffered bytes, copying only if they span chunks. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
