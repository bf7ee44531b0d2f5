/**
 * The session: auth's opaque token in an HttpOnly cookie (attributes in cookie.ts), checked
 * with auth.verify on every request that needs to know who is there (a revoked or expired
 * token stops working at once). notify reads the same cookie on the WebSocket handshake when
 * it is on the page's host (cookies ignore ports); otherwise the page hands the token over
 * (live.ts). The JSON API also takes the token from an `Authorization: Bearer` header (api.ts).
 */
import 'server-only';
import { cache } from 'react';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { webConfig } from './config.js';
import { SESSION_COOKIE, sessionCookieAttributes } from './cookie.js';
import { ServiceError } from './errors.js';
import { viewerOfToken, type Viewer } from './viewer.js';

export type { Viewer };

export async function sessionToken(): Promise<string | undefined> {
  return (await cookies()).get(SESSION_COOKIE)?.value || undefined;
}

/**
 * Who is logged in, or null, verified once per page request (the layout and the page share
 * it). A session auth does not know is null; auth being down is a ServiceError, so nobody
 * looks logged out because of an outage. The request's trace is kept for the session.
 */
const viewerOfRequest = cache(async (): Promise<Viewer | null> => verifiedViewer('view page'));

/** The viewer for the layout's nav: null also when auth is down (the page says why). */
export async function navViewer(): Promise<Viewer | null> {
  return viewerOfRequest().catch((err: unknown) => {
    if (err instanceof ServiceError) return null;
    throw err;
  });
}

/** The viewer of a page, naming the page's action in the trace (e.g. "view home"). */
export async function pageViewer(action: string): Promise<Viewer | null> {
  const viewer = await viewerOfRequest();
  if (viewer !== null) viewer.call.trace.action = action;
  return viewer;
}

/** The viewer of a page that needs one, or a redirect to /login. */
export async function requireViewer(action: string): Promise<Viewer> {
  const viewer = await pageViewer(action);
  if (viewer === null) redirect('/login');
  return viewer;
}

/** The viewer of a server action: its own trace, verified afresh. */
export function actionViewer(action: string): Promise<Viewer | null> {
  return verifiedViewer(action);
}

async function verifiedViewer(action: string): Promise<Viewer | null> {
  const token = await sessionToken();
  return token === undefined ? null : viewerOfToken(token, action);
}

export async function startSession(token: string, expiresAt: string): Promise<void> {
  (await cookies()).set(SESSION_COOKIE, token, { ...(await cookieAttributes()), expires: new Date(expiresAt) });
}

export async function endSession(): Promise<void> {
  (await cookies()).set(SESSION_COOKIE, '', { ...(await cookieAttributes()), maxAge: 0 });
}

/** Whether the session cookie is Secure for this request (live.ts asks: can it reach notify?). */
export async function cookieSecure(): Promise<boolean> {
  return (await cookieAttributes()).secure;
}

async function cookieAttributes() {
  const request = await headers();
  return sessionCookieAttributes(webConfig(), {
    forwardedProto: request.get('x-forwarded-proto'),
    host: request.get('host'),
  });
}
