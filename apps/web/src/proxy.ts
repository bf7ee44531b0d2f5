/**
 * The Content-Security-Policy of every page, set here per request rather than in
 * next.config.ts because it depends on run-time settings: a fresh nonce per response (Next
 * puts it on its own scripts), and NOTIFY_URL (the socket's address, often only known when
 * the server starts; next.config's headers() are fixed at build time).
 *
 * Scripts: only this site's, carrying the nonce. Connections: this site and notify.
 * Styles: this site's, plus inline style attributes (Next's own markup uses a few, and the
 * Transports page draws its bars with them); a style cannot run code. No frames, no plugins,
 * forms post only here.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { webConfig } from './lib/config';

export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString('base64');
  const notify = new URL(webConfig().notifyUrl);
  const dev = process.env.NODE_ENV === 'development';
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${notify.protocol}//${notify.host}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', policy);
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'same-origin');
  return response;
}

export const config = {
  matcher: [
    {
      source: '/((?!_next/static|_next/image|favicon.ico).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
