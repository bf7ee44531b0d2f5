/**
 * Baseline for TCP: a bare `node:net` echo. One persistent connection, many calls in flight
 * on it (as the TCP transport does), each message a 4-byte big-endian length and its JSON.
 * Socket options are Node's defaults, as the transport's are.
 */
import net from 'node:net';
import { PendingCalls, replyTo } from './baseline-wire.js';
import type { Target } from './target.js';

const HEADER_BYTES = 4;

function frame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + length);
  buffer.writeUInt32BE(length, 0);
  buffer.write(text, HEADER_BYTES, 'utf8');
  return buffer;
}

/** Calls `onFrame` with each whole frame's text; joins chunks only when a frame spans them. */
function frameReader(onFrame: (text: string) => void): (chunk: Buffer) => void {
  let rest: Buffer | undefined;
  return (chunk) => {
    let buffer = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    rest = undefined;
    while (buffer.length >= HEADER_BYTES) {
      const end = HEADER_BYTES + buffer.readUInt32BE(0);
      if (buffer.length < end) break;
      onFrame(buffer.toString('utf8', HEADER_BYTES, end));
      buffer = buffer.subarray(end);
    }
    if (buffer.length > 0) rest = buffer;
  };
}

export const netEcho: Target = {
  name: 'net',
  description: 'bare node:net: one connection, 4-byte length + JSON, calls multiplexed by id',
  async serve() {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.on(
        'data',
        frameReader((text) => socket.write(frame(replyTo(text)))),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
      address: `127.0.0.1:${port}`,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
  async connect(address, context) {
    const [host, port] = address.split(':') as [string, string];
    const socket = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const pending = new PendingCalls(context.timeoutMs);
    socket.on(
      'data',
      frameReader((text) => pending.settle(text)),
    );
    socket.on('error', () => {});
    socket.on('close', () => pending.close(new Error(`connection to ${address} closed`)));
    return {
      call(method, payload) {
        const { id, reply } = pending.open();
        socket.write(frame(JSON.stringify({ id, method, payload })));
        return reply;
      },
      async close() {
        socket.destroy();
      },
    };
  },
};
