import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';

const MAX = 1024;

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): string[] {
  return chunks.flatMap((chunk) => decoder.push(chunk)).map((frame) => frame.toString('utf8'));
}

/** Split `bytes` at the given cut points (any order, duplicates allowed). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...sorted, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

describe('TCP framing', () => {
  it('prefixes each message with its length in bytes, not characters', () => {
    const frame = encodeFrame('é🐦');
    expect(frame.readUInt32BE(0)).toBe(6); // 2 bytes + 4 bytes of UTF-8
    expect(frame.subarray(4).toString('utf8')).toBe('é🐦');
  });

  it('returns every frame of a chunk holding several, and keeps a partial one for later', () => {
    const decoder = new FrameDecoder(MAX);
    const bytes = Buffer.concat([encodeFrame('one'), encodeFrame('two'), encodeFrame('three')]);
    expect(decodeAll(decoder, [bytes.subarray(0, bytes.length - 2)])).toEqual(['one', 'two']);
    expect(decoder.buffered).toBeGreaterThan(0);
    expect(decodeAll(decoder, [bytes.subarray(bytes.length - 2)])).toEqual(['three']);
    expect(decoder.buffered).toBe(0);
  });

  it('reassembles multibyte text split inside a character and inside the header', () => {
    const decoder = new FrameDecoder(MAX);
    const bytes = encodeFrame('naïve 🐦 tweet');
    const chunks = [...bytes].map((byte) => Buffer.from([byte])); // one byte at a time
    expect(decodeAll(decoder, chunks)).toEqual(['naïve 🐦 tweet']);
  });

  it('accepts a frame of exactly the maximum size', () => {
    const text = 'x'.repeat(MAX);
    expect(decodeAll(new FrameDecoder(MAX), [encodeFrame(text)])).toEqual([text]);
  });

  it('refuses an oversized length as soon as the header arrives, before buffering the body', () => {
    const decoder = new FrameDecoder(MAX);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff);
    expect(() => decoder.push(header)).toThrow(FrameError);
    expect(() => new FrameDecoder(MAX).push(encodeFrame('x'.repeat(MAX + 1)).subarray(0, 4))).toThrow(/exceeds/);
  });

  it('holds a first frame to its own smaller maximum, then allows full-size frames, even in the same chunk', () => {
    const hello = encodeFrame('h'.repeat(57));
    const big = encodeFrame('x'.repeat(MAX));
    expect(decodeAll(new FrameDecoder(MAX, 57), [Buffer.concat([hello, big])])).toEqual([
      'h'.repeat(57),
      'x'.repeat(MAX),
    ]);
    // A stranger's first length over 57 is refused as soon as its 4 bytes are in.
    expect(() => new FrameDecoder(MAX, 57).push(big.subarray(0, 4))).toThrow(
      `frame of ${MAX} bytes exceeds the maximum of 57 for a first frame`,
    );
  });

  it('refuses a zero-length frame', () => {
    expect(() => new FrameDecoder(MAX).push(Buffer.alloc(4))).toThrow(/0 bytes/);
  });

  it('round-trips any messages however the stream is chunked (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (messages, points) => {
          const bytes = Buffer.concat(messages.map((m) => encodeFrame(m)));
          const decoder = new FrameDecoder(MAX);
          expect(decodeAll(decoder, cut(bytes, points))).toEqual(messages);
          expect(decoder.buffered).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never returns a frame over the limit nor holds more than one frame of bytes, whatever arrives (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const decoder = new FrameDecoder(MAX);
        try {
          for (const chunk of chunks) {
            for (const frame of decoder.push(Buffer.from(chunk))) expect(frame.length).toBeLessThanOrEqual(MAX);
            expect(decoder.buffered).toBeLessThanOrEqual(MAX + 4 + 300);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
