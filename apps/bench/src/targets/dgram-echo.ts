/**
 * Baseline for UDP: a bare `node:dgram` echo. One JSON message per datagram, replies
 * matched by request id, socket buffers enlarged as the transport's are — and no
 * retransmission: a lost datagram is a call that fails at its deadline, counted as an error.
 */
import dgram from 'node:dgram';
import { PendingCalls, replyTo } from './baseline-wire.js';
import type { Target } from './target.js';

/** As the UDP transport asks (packages/transport/src/udp/sockets.ts). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

function enlarge(socket: dgram.Socket): void {
  socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
  socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
}

export const dgramEcho: Target = {
  name: 'dgram',
  description: 'bare node:dgram: one JSON datagram each way, request ids, no retransmission',
  async serve() {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message, from) => {
      socket.send(replyTo(message.toString('utf8')), from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    enlarge(socket);
    return {
      address: `127.0.0.1:${socket.address().port}`,
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    };
  },
  async connect(address, context) {
    const [host, port] = address.split(':') as [string, string];
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.connect(Number(port), host, resolve));
    enlarge(socket);
    const pending = new PendingCalls(context.timeoutMs);
    socket.on('message', (message) => pending.settle(message.toString('utf8')));
    socket.on('error', () => {});
    return {
      call(method, payload) {
        const { id, reply } = pending.open();
        socket.send(JSON.stringify({ id, method, payload }), (err) => {
          if (err) pending.fail(id, err);
        });
        return reply;
      },
      async close() {
        pending.close(new Error('closed'));
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      },
    };
  },
};
