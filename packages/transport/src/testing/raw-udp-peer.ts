/**
 * A bare `node:dgram` socket connected to a UDP server, for tests that play a peer the
 * transport would never be: garbage, forged, replayed or fuzzed datagrams. It keeps every
 * datagram that comes back, so a test can check that the server said nothing.
 */
import dgram from 'node:dgram';
import { parseHostPort } from '../endpoints.js';

export interface RawUdpPeer {
  socket: dgram.Socket;
  /** Every datagram received, in order. */
  received: Buffer[];
  send(datagram: string | Buffer): Promise<void>;
  close(): void;
}

export async function rawUdpPeer(address: string): Promise<RawUdpPeer> {
  const { host, port } = parseHostPort(address);
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.connect(port, host, resolve));
  return {
    socket,
    received,
    send: (datagram) =>
      new Promise((resolve, reject) => socket.send(datagram, (err) => (err ? reject(err) : resolve()))),
    close: () => socket.close(),
  };
}
