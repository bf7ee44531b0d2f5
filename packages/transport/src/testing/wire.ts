/**
 * Messages in envelope.ts's wire format made field by field, including the ones its encoder
 * would never write (an empty id, a negative deadline, a length past the end, a body that is
 * not JSON), for tests that play a peer sending them.
 *
 *   string  its UTF-8 bytes, after a uint16 length    null   an absent string (length 0xFFFF)
 *   number  a float64                                 Buffer those bytes as they are (a body, a bad length)
 */
export function rawMessage(type: number, ...fields: Array<string | number | null | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from([type])];
  for (const field of fields) {
    if (Buffer.isBuffer(field)) {
      parts.push(field);
    } else if (typeof field === 'number') {
      const number = Buffer.alloc(8);
      number.writeDoubleBE(field);
      parts.push(number);
    } else {
      const bytes = field === null ? Buffer.alloc(0) : Buffer.from(field);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(field === null ? 0xffff : bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** A uint16 length announcing `length` bytes (whether or not they follow). */
export function rawLength(length: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(length);
  return bytes;
}

/** Messages in one batch datagram, as udp/batch.ts frames them: 0x0A, then a uint16 length before each. */
export function rawBatch(messages: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x0a]), ...messages.flatMap((message) => [rawLength(message.length), message])]);
}
