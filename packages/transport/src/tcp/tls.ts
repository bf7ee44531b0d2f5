/**
 * Optional TLS under the TCP transport (TCP_TLS_CERT, TCP_TLS_KEY, TCP_TLS_CA): the same
 * frames, over `node:tls` instead of `node:net`. TLS hides and protects the bytes on the
 * wire; TRANSPORT_SECRET still decides who may call (a TLS client needs no certificate).
 * A client always verifies the server's certificate and host name, against TCP_TLS_CA
 * when set (a private CA, a self-signed certificate), else Node's default CAs.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { TcpTlsFiles } from '../config.js';

export interface TcpTls {
  /** Serve over TLS with this certificate and key. */
  server?: { cert: Buffer; key: Buffer };
  /** Connect over TLS, trusting `ca` (or the default CAs). */
  client?: { ca?: Buffer };
}

/** Read the PEM files named in the config; throws naming the variable of a file that cannot be read. */
export function loadTcpTls(files: TcpTlsFiles | undefined): TcpTls {
  if (files === undefined) return {};
  const read = (path: string, variable: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${variable}=${path} cannot be read: ${(err as Error).message}`);
    }
  };
  const loaded: TcpTls = {};
  if (files.cert !== undefined && files.key !== undefined) {
    loaded.server = { cert: read(files.cert, 'TCP_TLS_CERT'), key: read(files.key, 'TCP_TLS_KEY') };
  }
  if (files.ca !== undefined) loaded.client = { ca: read(files.ca, 'TCP_TLS_CA') };
  else if (files.cert !== undefined) loaded.client = {};
  return loaded;
}

/**
 * A client socket to `host:port`, and the event after which frames can flow both ways
 * ('secureConnect' once TLS is set up and the server verified).
 */
export function connectSocket(
  host: string,
  port: number,
  config: TcpTls,
): { socket: net.Socket; readyEvent: 'connect' | 'secureConnect' } {
  if (config.client === undefined) return { socket: net.connect({ host, port, noDelay: true }), readyEvent: 'connect' };
  const socket = tls.connect({
    host,
    port,
    ca: config.client.ca,
    // SNI takes host names only; an IP address is still checked against the certificate.
    servername: net.isIP(host) === 0 ? host : undefined,
  });
  socket.setNoDelay(true);
  return { socket, readyEvent: 'secureConnect' };
}

/**
 * A server handing each accepted socket to `onAccept` as it arrives, before any TLS work,
 * so that connection limits (limits.ts) are applied to every socket, handshaking or not.
 */
export function createSocketServer(onAccept: (raw: net.Socket) => void): net.Server {
  return net.createServer({ noDelay: true }, onAccept);
}

/**
 * How a server turns an accepted socket into the one frames flow on: with TCP_TLS_*, a TLS
 * socket once its handshake is done (`onReady`), or `onFailure` if it fails; else the socket
 * itself, at once. The handshake has no timer of its own: the hello timeout covers it.
 */
export function serverSockets(
  config: TcpTls,
): (raw: net.Socket, onReady: (socket: net.Socket) => void, onFailure: (err: Error) => void) => void {
  if (config.server === undefined) return (raw, onReady) => onReady(raw);
  const secureContext = tls.createSecureContext(config.server);
  return (raw, onReady, onFailure) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
    let secure = false;
    socket.once('secure', () => {
      secure = true;
      onReady(socket);
    });
    socket.on('error', (err) => {
      if (!secure) onFailure(err);
      raw.destroy();
    });
    socket.once('close', () => raw.destroy());
  };
}
