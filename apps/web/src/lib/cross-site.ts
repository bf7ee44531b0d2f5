/**
 * Cross-site requests (CSRF), one rule for both doors: the JSON API (api/http.ts) and the pages'
 * server actions (server.ts, before Next.js). A browser attaches the session cookie to requests
 * another site makes, so every POST/PUT/DELETE/PATCH must show it comes from this site: its
 * Origin header must name this host. Without an Origin it is refused too; the JSON API alone
 * accepts one that authenticates with a Bearer header, which a browser never attaches on its own
 * (and then it does not look at the cookie). Server actions read only the cookie: no exception.
 * SameSite=Lax already keeps the cookie off cross-site POSTs in today's browsers; this check does
 * not depend on that.
 *
 * "This host" is the Host header, or X-Forwarded-Host when a trusted proxy sent it: forwarding.ts
 * has removed it from every other request before this runs.
 */
import type { IncomingMessage } from 'node:http';

const CHANGES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Why a change must be refused as cross-site (a sentence for the 403), or undefined if it may go on. */
export function crossSiteRefusal(request: IncomingMessage, door: 'api' | 'pages'): string | undefined {
  if (!CHANGES.has(request.method ?? '')) return undefined;
  const origin = header(request, 'origin');
  if (origin === undefined) {
    if (door === 'api' && bearerToken(request) !== undefined) return undefined;
    return door === 'api'
      ? 'This change was refused: it has no Origin header. Browsers send one; other clients send this site as the Origin, or an Authorization: Bearer token.'
      : 'This change was refused: it has no Origin header. Browsers send one; other clients send this site as the Origin.';
  }
  if (!isThisSite(origin, request)) return 'This change was refused: it comes from another site.';
  return undefined;
}

/** Whether `origin` names the host this request was sent to (as a trusted proxy forwarding it says, if any). */
function isThisSite(origin: string, request: IncomingMessage): boolean {
  const host = header(request, 'x-forwarded-host')?.split(',')[0]?.trim() || header(request, 'host');
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed page, a file) or garbage
  }
}

/** The token of an `Authorization: Bearer` header. */
export function bearerToken(request: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header(request, 'authorization') ?? '')?.[1];
}

export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
