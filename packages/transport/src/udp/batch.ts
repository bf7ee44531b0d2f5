/**
 * Coalescing: the messages one side sends to one address within one tick of the event loop leave
 * in one datagram, as TCP's frames of one tick leave in one `writev`. A datagram costs a system
 * call, ~10 µs of CPU on a loaded machine, more than encoding the message in it; under load a
 * client sends many requests per tick and a server many replies, so this is most of UDP's cost.
 *
 *   batch datagram:  [ seal header? ] [ 0x0A ] ( [ length u16 ] [ message ] )*
 *
 * A message here is an envelope (envelope.ts), with its cookie prefix if it has one; the seal
 * header (datagram-auth.ts, with TRANSPORT_SECRET) covers the whole batch once. A lone message
 * goes as it always did, in a datagram of its own, and so does one too big to share: a batch never
 * passes BATCH_LIMIT_BYTES, under Ethernet's 1,472-byte UDP payload, so that coalescing never
 * makes IP fragment what it would not have. A receiver handles each message of a batch as if it had
 * come alone from the same sender; a server weighs each reply against its own request, so a batch
 * of replies is never bigger than the batch of requests it answers (server.ts, address-check.ts).
 */
import { MESSAGE_TYPE, decodeEnvelope, type Envelope } from '../envelope.js';
import { TransportError } from '../errors.js';

/** The largest batch datagram, header included. */
export const BATCH_LIMIT_BYTES = 1_400;
const BATCH = MESSAGE_TYPE.batch;

/**
 * Queues sealed datagrams per destination and sends them at the end of the tick: alone as they are,
 * or, several to one destination, copied without their headers into batches sealed afresh.
 */
export class Coalescer<To> {
  readonly #headerBytes: number;
  readonly #limit: number;
  readonly #seal: (datagram: Buffer) => void;
  readonly #send: (datagram: Buffer, to: To) => void;
  /** A destination's datagrams: one alone (most often, and then no array), or several. */
  #queued = new Map<To, Buffer | Buffer[]>();
  /** The other map, swapped in while one is sent, so that a datagram added meanwhile waits its turn. */
  #spare = new Map<To, Buffer | Buffer[]>();
  #scheduled = false;
  /** Bound once: scheduled at most once a tick. */
  readonly #flushAtTickEnd = (): void => this.flush();

  constructor(options: {
    headerBytes: number;
    /** The transport's datagram limit, if lower than BATCH_LIMIT_BYTES. */
    maxDatagramBytes: number;
    seal: (datagram: Buffer) => void;
    send: (datagram: Buffer, to: To) => void;
  }) {
    this.#headerBytes = options.headerBytes;
    this.#limit = Math.min(BATCH_LIMIT_BYTES, options.maxDatagramBytes);
    this.#seal = options.seal;
    this.#send = options.send;
  }

  /** Send `datagram` (sealed) to `to` at the end of this tick, with whatever else goes there. */
  add(datagram: Buffer, to: To): void {
    const queued = this.#queued.get(to);
    if (queued === undefined) this.#queued.set(to, datagram);
    else if (Array.isArray(queued)) queued.push(datagram);
    else this.#queued.set(to, [queued, datagram]);
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flushAtTickEnd);
    }
  }

  /** Send everything queued now. */
  flush(): void {
    this.#scheduled = false;
    const sending = this.#queued;
    [this.#queued, this.#spare] = [this.#spare, sending];
    for (const [to, queued] of sending) {
      if (!Array.isArray(queued)) this.#send(queued, to);
      else for (const datagram of this.#batches(queued)) this.#send(datagram, to);
    }
    sending.clear();
  }

  /** `datagrams` as few datagrams as the limit allows, in their order. */
  *#batches(datagrams: Buffer[]): Generator<Buffer> {
    const header = this.#headerBytes;
    let group: Buffer[] = [];
    let size = header + 1;
    const close = (): Buffer => {
      const batch = group.length === 1 ? group[0]! : this.#join(group, size);
      group = [];
      size = header + 1;
      return batch;
    };
    for (const datagram of datagrams) {
      const grows = 2 + datagram.length - header;
      if (size + grows > this.#limit && group.length > 0) yield close();
      group.push(datagram);
      size += grows;
    }
    if (group.length > 0) yield close();
  }

  #join(datagrams: Buffer[], size: number): Buffer {
    const header = this.#headerBytes;
    const batch = Buffer.allocUnsafe(size);
    batch[header] = BATCH;
    let at = header + 1;
    for (const datagram of datagrams) {
      at = batch.writeUInt16BE(datagram.length - header, at);
      at += datagram.copy(batch, at, header);
    }
    this.#seal(batch);
    return batch;
  }
}

/** Whether an opened datagram's body (its seal header removed) is a batch. */
export function isBatch(body: Buffer): boolean {
  return body[0] === BATCH;
}

/**
 * The messages of a batch body, decoded, each with its size. Throws INVALID_ARGUMENT, as
 * decodeEnvelope does, if any cannot be read — lengths past the end, an empty message, a batch in
 * a batch: the whole datagram is dropped, as no Chirp peer makes such a batch.
 */
export function decodeBatch(body: Buffer): { envelope: Envelope; bytes: number }[] {
  const messages: { envelope: Envelope; bytes: number }[] = [];
  let at = 1;
  while (at < body.length) {
    if (at + 2 > body.length) throw malformed('cut short in a length');
    const length = body.readUInt16BE(at);
    const end = at + 2 + length;
    if (length === 0 || end > body.length) throw malformed('a message empty or past its end');
    if (body[at + 2] === BATCH) throw malformed('a batch inside it');
    messages.push({ envelope: decodeEnvelope(body.subarray(at + 2, end)), bytes: length });
    at = end;
  }
  if (messages.length === 0) throw malformed('no message in it');
  return messages;
}

function malformed(reason: string): TransportError {
  return new TransportError('INVALID_ARGUMENT', `malformed batch: ${reason}`);
}
