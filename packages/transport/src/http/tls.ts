/**
 * Optional mutual TLS under the HTTP transport, from the same PEM files as TCP's
 * (TCP_TLS_CERT, TCP_TLS_KEY, TCP_TLS_CA; tcp/tls.ts reads them). With a certificate and key
 * a process serves HTTPS (its listeners and its callback server); with a CA as well, a client
 * (a caller, a publisher delivering events) must present a certificate that CA signed, or the
 * handshake fails before any request is read. A client speaks HTTPS when the CA or a
 * certificate is set, always verifies the server's certificate and host name, and presents
 * its own certificate (the same cert and key) to servers that ask.
 *
 * TLS hides and protects requests and replies on the wire (which signing alone does not: it
 * neither hides nor covers replies) and, mutual, keeps strangers from even sending one.
 * TRANSPORT_SECRET stays the check of each request, replays included.
 */
import type { TcpTlsFiles } from '../config.js';
import { loadTcpTls } from '../tcp/tls.js';

export interface HttpTls {
  /** Serve HTTPS with this certificate and key; with `ca`, require client certificates it signed. */
  server?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Call over HTTPS, trusting `ca` (or the default CAs), presenting `cert` and `key` when set. */
  client?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export function loadHttpTls(files: TcpTlsFiles | undefined): HttpTls {
  const { server, client } = loadTcpTls(files);
  const ca = client?.ca;
  const loaded: HttpTls = {};
  if (server !== undefined) loaded.server = ca === undefined ? server : { ...server, ca };
  if (client !== undefined) loaded.client = server === undefined ? client : { ...client, ...server };
  return loaded;
}

/** Node's https.Server options for `tls.server`: mutual when a CA is set. */
export function httpsOptions(server: NonNullable<HttpTls['server']>): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  const mutual = server.ca !== undefined;
  return { ...server, requestCert: mutual, rejectUnauthorized: mutual };
}
