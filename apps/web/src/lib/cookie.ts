/**
 * The session cookie's attributes, as a pure rule (session.ts applies it to a request; a unit
 * test checks it without one).
 *
 * `chirp_session`: HttpOnly (page scripts cannot read it), SameSite=Lax (not sent on cross-site
 * subrequests or POSTs, so another site cannot act as the user), Path=/, expiring with the
 * session. Secure (https only) in production — except for plain http to a loopback host
 * (`npm start`, the browser tests), where the browser would otherwise drop it; COOKIE_SECURE
 * overrides either way.
 */
import type { WebConfig } from './config.js';

export const SESSION_COOKIE = 'chirp_session';

export interface CookieAttributes {
  httpOnly: true;
  sameSite: 'lax';
  path: '/';
  secure: boolean;
}

/** What the request says about how it reached us: X-Forwarded-Proto and Host. */
export interface RequestSite {
  forwardedProto: string | null;
  host: string | null;
}

export function sessionCookieAttributes(
  config: Pick<WebConfig, 'cookieSecure' | 'production'>,
  site: RequestSite,
): CookieAttributes {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: cookieSecure(config, site) };
}

function cookieSecure(config: Pick<WebConfig, 'cookieSecure' | 'production'>, site: RequestSite): boolean {
  if (config.cookieSecure !== undefined) return config.cookieSecure;
  if (!config.production) return false;
  if (site.forwardedProto?.split(',')[0]?.trim() === 'https') return true;
  return !isLoopback(hostnameOf(site.host ?? ''));
}

export function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
