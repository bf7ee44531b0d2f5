/**
 * How the browser authenticates its WebSocket to notify. The session cookie is HttpOnly, so
 * page scripts cannot read it — but the browser sends it on the handshake itself when notify
 * is on the page's host (cookies are per host, not per port; SameSite=Lax allows a same-site
 * socket). Then the token never reaches page scripts. When notify is on another host, or the
 * cookie is Secure and notify is plain ws://, the cookie cannot go along: the page is given the
 * token for notify's `?token=` parameter instead, the one place it leaves the cookie.
 */
import 'server-only';
import { headers } from 'next/headers';
import { webConfig } from './config.js';
import { hostnameOf } from './cookie.js';
import { cookieSecure } from './session.js';

export interface LiveConnection {
  notifyUrl: string;
  /** Set only when the cookie cannot reach notify (see above). */
  token?: string;
}

export async function liveConnection(token: string): Promise<LiveConnection> {
  const url = webConfig().notifyUrl;
  const notify = new URL(url);
  const request = await headers();
  const sameHost = notify.hostname.replace(/^\[|\]$/g, '') === hostnameOf(request.get('host') ?? '');
  const cookieReaches = sameHost && (notify.protocol === 'wss:' || !(await cookieSecure()));
  return cookieReaches ? { notifyUrl: url } : { notifyUrl: url, token };
}
