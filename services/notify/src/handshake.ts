/**
 * The checks on a WebSocket upgrade request before any socket exists, and the plain HTTP
 * answer that refuses one.
 *
 * Origin: browsers send the page's origin with every WebSocket handshake and, unlike
 * fetch, do not enforce CORS on it, so without this check any site a logged-in user visits
 * could open a socket with their session cookie (cross-site WebSocket hijacking). A request
 * without an Origin is not from a browser, so the cookie risk does not apply: allowed.
 *
 * Token: the session token, from the `chirp_session` cookie (the web app's HttpOnly session
 * cookie, sent along when notify shares its site) or a `token` query parameter (for pages
 * on another host, and for tools).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { TransportError } from '@chirp/transport';

export const WS_PATH = '/ws';
export const SESSION_COOKIE = 'chirp_session';

export function originAllowed(origin: string | undefined, allowed: string[] | undefined): boolean {
  if (origin === undefined || allowed === undefined) return true;
  return allowed.includes(origin.replace(/\/+$/, ''));
}

/** The session token of an upgrade request: the cookie first, else `?token=`. */
export function sessionToken(cookieHeader: string | undefined, query: URLSearchParams): string | undefined {
  for (const pair of (cookieHeader ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = decodeCookieValue(pair.slice(eq + 1).trim());
    if (value) return value;
  }
  return query.get('token') || undefined;
}

function decodeCookieValue(raw: string): string {
  const unquoted = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}

/** Answer the upgrade request with a plain HTTP error and close the connection: no socket. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `\r\n${body}`,
  );
}

/** What auth says about a token that is no session: UNAUTHENTICATED, or refused by its contract. */
export function isBadSession(err: unknown): boolean {
  return err instanceof TransportError && (err.code === 'UNAUTHENTICATED' || err.code === 'INVALID_ARGUMENT');
}
