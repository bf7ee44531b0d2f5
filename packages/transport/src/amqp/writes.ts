/**
 * amqplib writes every frame set it sends (a publish, an ack, a reply) to the socket as a write of
 * its own: its Mux (amqplib/lib/mux.js) drains the channels' outgoing queues once per
 * setImmediate, one `socket.write()`, so one send syscall, per message. Under load most of a
 * process's AMQP CPU was those syscalls (60% of a server's in a profile at 64 calls in flight;
 * the same for bare amqplib). Corking the socket while the Mux drains makes what is queued leave in
 * one writev, as the TCP transport's frames of a tick do; the Mux's own flow control is unchanged
 * (a write past the socket's buffer still stops the drain until 'drain').
 */
import type { Writable } from 'node:stream';
import type { ChannelModel } from 'amqplib';

/** The part of amqplib's Mux this relies on: its drain loop and the stream it writes to. */
interface Mux {
  out: Writable;
  _readIncoming(): void;
}

/**
 * Make `model`'s connection send what its channels queue within one drain as one write. Returns
 * false, changing nothing, on an amqplib whose internals differ (each write then stays its own).
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const mux = (model.connection as { muxer?: Partial<Mux> }).muxer;
  if (typeof mux?._readIncoming !== 'function' || typeof mux.out?.cork !== 'function') return false;
  const drain = mux._readIncoming;
  mux._readIncoming = function (this: Mux) {
    this.out.cork();
    try {
      drain.call(this);
    } finally {
      this.out.uncork();
    }
  };
  return true;
}
