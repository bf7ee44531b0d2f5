/** The few `node:dgram` operations the UDP transport needs, as promises. */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { HostPort } from '../endpoints.js';

/**
 * Linux's default receive buffer (about 200 KiB) overflows under a burst of a thousand
 * requests or replies, and an overflowing UDP buffer drops datagrams without a word:
 * retransmission would recover them, but only after a round of backoff. The kernel caps
 * what we ask for at net.core.rmem_max / wmem_max.
 */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** UDP over IPv4 unless the address is an IPv6 literal. */
export function createSocket(host: string): dgram.Socket {
  return dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: lookupLiteralAtOnce });
}

/**
 * A server replies to the IP literal each datagram came from, and dns.lookup answers even a
 * literal only on the next tick: every reply paid a deferral before leaving. Literals are
 * answered at once; names still go to dns.lookup.
 */
function lookupLiteralAtOnce(
  address: string,
  options: dns.LookupOneOptions | number, // node:dgram passes the family as a number
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const literal = net.isIP(address);
  if (literal !== 0) callback(null, address, literal);
  else if (typeof options === 'number') dns.lookup(address, options, callback);
  else dns.lookup(address, options, callback);
}

/** Only possible once the socket has a file descriptor, i.e. after bind or connect. */
export function enlargeBuffers(socket: dgram.Socket): void {
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // A smaller buffer only means more retransmissions under bursts.
  }
}

export function bind(socket: dgram.Socket, { host, port }: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * Fix the socket's peer: the kernel then drops datagrams from anyone else, and reports an
 * ICMP "port unreachable" as ECONNREFUSED (an 'error' event), which an unconnected socket
 * never hears about. That is how a client learns promptly that nobody serves an address.
 */
export function connect(socket: dgram.Socket, { host, port }: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.connect(port, host, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

/** Resolves once the datagram is handed to the kernel (or failed to be); never rejects. */
export function send(socket: dgram.Socket, datagram: Buffer, to?: HostPort): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const done = (err: Error | null): void => resolve(err ?? undefined);
    try {
      if (to === undefined) socket.send(datagram, done);
      else socket.send(datagram, to.port, to.host, done);
    } catch (err) {
      // Thrown synchronously when the socket is already closed.
      resolve(err as Error);
    }
  });
}
