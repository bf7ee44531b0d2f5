/**
 * The WebSocket server browsers connect to: `ws://<NOTIFY_LISTEN>/ws`.
 *
 * Handshake (before any socket exists, answered with plain HTTP on refusal):
 *   wrong path 404 · foreign Origin 403 · no token or a session auth does not know 401 ·
 *   auth unreachable 503 (the browser retries; nobody is logged out by an outage) ·
 *   the user already holds NOTIFY_MAX_SOCKETS_PER_USER sockets here 429, with Retry-After.
 *
 * Why refuse the newcomer rather than close the user's oldest socket: one token must not be able
 * to hold a thousand sockets, and the limit should cost the one who exceeds it. Closing the oldest
 * would let a script with a stolen token knock the owner's tabs off in turn, and a person with one
 * tab too many would see two tabs take each other's place forever as each reconnects; refusing
 * leaves every working socket alone, costs nothing (no socket is made), and a tab refused retries
 * with its backoff until another closes (a dead one is dropped within two heartbeats).
 * Then the server says `{"type":"hello","user":{…}}` and pushes `{"type":"post",…}` frames.
 * Clients are not expected to talk: `{"type":"ping"}` is answered `{"type":"pong"}`, anything
 * else is ignored, and a message over 4 KiB closes the socket with 1009 (ws' maxPayload).
 * Liveness (heartbeats, session re-verification) is liveness.ts; sending is sessions.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { User } from '@chirp/contracts';
import type { Logger } from '@chirp/transport';
import type { NotifyConfig } from './config.js';
import { WS_PATH, isBadSession, originAllowed, refuseUpgrade, sessionToken } from './handshake.js';
import { startLiveness } from './liveness.js';
import { sessionIdOf, type Session, type Sessions } from './sessions.js';

/** Clients send at most a ping; anything bigger is not our protocol. */
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024;
/** How long a graceful stop waits for browsers to answer the 1001 close before cutting them off. */
const CLOSE_GRACE_MS = 2_000;

export interface GatewayDeps {
  config: NotifyConfig;
  sessions: Sessions;
  /** Who a session token belongs to; rejects with the auth service's TransportError. */
  verify(token: string): Promise<User>;
  logger: Logger;
}

export interface Gateway {
  /** host:port the WebSocket server is bound to. */
  address: string;
  close(): Promise<void>;
}

export async function openGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, sessions, verify, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES });
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
    res.end(`notify speaks WebSocket only: connect to ${WS_PATH}\n`);
  });
  let stopping = false;

  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy()); // a client gone mid-handshake; ws adds its own once it takes over
    if (stopping) return refuseUpgrade(socket, 503, 'notify is shutting down: reconnect in a moment');
    const url = new URL(req.url ?? '/', 'http://notify.invalid');
    if (url.pathname !== WS_PATH) {
      return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}: connect to ${WS_PATH}`);
    }
    const origin = req.headers.origin;
    if (!originAllowed(origin, config.allowedOrigins)) {
      return refuseUpgrade(socket, 403, `pages from ${origin} may not connect to notify`);
    }
    const token = sessionToken(req.headers.cookie, url.searchParams);
    if (token === undefined) {
      return refuseUpgrade(socket, 401, 'no session: send the chirp_session cookie or a token query parameter');
    }
    let user: User;
    try {
      user = await verify(token);
    } catch (err) {
      if (isBadSession(err)) return refuseUpgrade(socket, 401, 'the session is not valid (expired or logged out)');
      logger.warn({ err }, 'notify: cannot verify a session, refusing the socket for now');
      return refuseUpgrade(socket, 503, 'cannot check the session right now: try again');
    }
    if (stopping) return refuseUpgrade(socket, 503, 'notify is shutting down: reconnect in a moment');
    // No await from here to sessions.add (ws completes an upgrade synchronously): concurrent
    // handshakes of one user cannot all pass this check.
    if (sessions.countOf(user.id) >= config.maxSocketsPerUser) {
      sessions.stats.refusedOverCap++;
      logger.debug({ userId: user.id, limit: config.maxSocketsPerUser }, 'notify: refused a socket over the cap');
      return refuseUpgrade(
        socket,
        429,
        `too many open sockets for this user (at most ${config.maxSocketsPerUser}): close a tab, or try again later`,
        { 'Retry-After': String(Math.ceil((2 * config.heartbeatMs) / 1000)) },
      );
    }
    wss.handleUpgrade(req, socket, head, (ws) => connected(ws, user, token));
  }

  function connected(socket: WebSocket, user: User, token: string): void {
    const session: Session = { socket, user, token, sessionId: sessionIdOf(token), alive: true };
    sessions.add(session);
    socket.on('pong', () => void (session.alive = true));
    socket.on('message', (data, isBinary) => received(session, data, isBinary));
    // ws closes the socket itself after an error (1009 for an oversized message); just note it.
    socket.on('error', (err) => logger.debug({ err, userId: user.id }, 'notify: socket error'));
    socket.on('close', (code) => {
      sessions.remove(session);
      logger.debug({ userId: user.id, code, open: sessions.size }, 'notify: socket closed');
    });
    logger.debug({ userId: user.id, open: sessions.size }, 'notify: socket opened');
    sessions.send(session, JSON.stringify({ type: 'hello', user }));
  }

  function received(session: Session, data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    if ((message as { type?: unknown } | null)?.type === 'ping') sessions.send(session, '{"type":"pong"}');
  }

  server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const liveness = startLiveness({ ...deps, heartbeatMs: config.heartbeatMs, reverifyMs: config.reverifyMs });

  return {
    address: bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`,
    async close() {
      stopping = true;
      liveness.stop();
      const open = sessions.all().map((session) => session.socket);
      for (const socket of open) socket.close(1001, 'server shutting down');
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(open.map(closed)),
        new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(grace);
      for (const socket of open) socket.terminate();
      wss.close();
      const serverClosed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await serverClosed;
      logger.info({ ...sessions.stats }, 'notify: WebSocket server closed');
    },
  };
}

function closed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
