/**
 * notify's own settings, read from the environment once (main.ts passes `process.env`).
 * The transport settings (TRANSPORT, AUTH_ADDR, FOLLOWS_ADDR, POSTS_ADDR, AMQP_URL, …) are
 * read by the service runtime next to these.
 *
 *   NOTIFY_LISTEN               host:port of the WebSocket server, default 0.0.0.0:4104
 *                               (browsers connect to ws://<host>:<port>/ws; port 0 = any free port)
 *   NOTIFY_ALLOWED_ORIGINS      comma list of page origins allowed to connect, default
 *                               http://localhost:3000,http://127.0.0.1:3000; `*` allows any.
 *                               A request without an Origin header (not a browser) is allowed.
 *   NOTIFY_HEARTBEAT_MS         ping every socket this often; one that did not pong since the
 *                               previous ping is dropped. Default 15000
 *   NOTIFY_REVERIFY_MS          re-check every connection's session token this often; a logged-out
 *                               or expired session is closed with 4001. Default 30000
 *   NOTIFY_MAX_BUFFERED_BYTES   a socket with more than this waiting to be sent is too slow and is
 *                               dropped, rather than buffering without bound. Default 1048576 (1 MiB)
 *   NOTIFY_MAX_SOCKETS_PER_USER open sockets one user may hold on this replica (tabs, devices);
 *                               one more is refused at the handshake with 429. Default 20
 */

export interface NotifyConfig {
  listen: { host: string; port: number };
  /** Origins allowed to open a socket; undefined = any. */
  allowedOrigins: string[] | undefined;
  heartbeatMs: number;
  reverifyMs: number;
  maxBufferedBytes: number;
  maxSocketsPerUser: number;
}

export const DEFAULT_NOTIFY_PORT = 4104;
export const DEFAULT_ALLOWED_ORIGINS = 'http://localhost:3000,http://127.0.0.1:3000';

export function notifyConfigFromEnv(env: Record<string, string | undefined>): NotifyConfig {
  return {
    listen: hostPort(env.NOTIFY_LISTEN ?? `0.0.0.0:${DEFAULT_NOTIFY_PORT}`, 'NOTIFY_LISTEN'),
    allowedOrigins: origins(env.NOTIFY_ALLOWED_ORIGINS ?? DEFAULT_ALLOWED_ORIGINS),
    heartbeatMs: positiveInt(env.NOTIFY_HEARTBEAT_MS, 15_000, 'NOTIFY_HEARTBEAT_MS'),
    reverifyMs: positiveInt(env.NOTIFY_REVERIFY_MS, 30_000, 'NOTIFY_REVERIFY_MS'),
    maxBufferedBytes: positiveInt(env.NOTIFY_MAX_BUFFERED_BYTES, 1024 * 1024, 'NOTIFY_MAX_BUFFERED_BYTES'),
    maxSocketsPerUser: positiveInt(env.NOTIFY_MAX_SOCKETS_PER_USER, 20, 'NOTIFY_MAX_SOCKETS_PER_USER'),
  };
}

function hostPort(value: string, variable: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match || !match[1] || !Number.isInteger(port) || port > 65535) {
    throw new Error(`${variable}=${value} is not host:port (e.g. 0.0.0.0:4104)`);
  }
  return { host: match[1], port };
}

function origins(value: string): string[] | undefined {
  const list = value
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  return list.length === 0 || list.includes('*') ? undefined : list;
}

function positiveInt(value: string | undefined, fallback: number, variable: string): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${variable}=${value} must be a positive integer`);
  return n;
}
