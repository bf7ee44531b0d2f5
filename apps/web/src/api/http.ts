/**
 * The JSON API's plumbing, on Node's own request and response objects (server.ts hands every
 * /api request here, not to Next.js: see server.ts for why). What every route shares: who is
 * calling (an `Authorization: Bearer` token, else the session cookie), the cross-site check on
 * changes, reading a small JSON body, and one shape for every failure: `{ "error": { "code",
 * "message" } }` with the status of the code (the transport's table), a sentence for a person as
 * the message, and Retry-After on 429.
 *
 * Cross-site requests (CSRF): every POST/PUT/DELETE must carry an Origin naming this host, or
 * authenticate with a Bearer header instead of the cookie (lib/cross-site.ts, the same rule as
 * the server actions'). Forwarding headers reach here only from a trusted proxy (lib/forwarding.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpStatusOf, type ErrorCode } from '@chirp/transport';
import { webConfig } from '../lib/config.js';
import { SESSION_COOKIE, sessionCookieAttributes, type CookieAttributes } from '../lib/cookie.js';
import { bearerToken, crossSiteRefusal, header } from '../lib/cross-site.js';
import { ServiceError } from '../lib/errors.js';

/** The largest request body read: a sign-up or a post is a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Retry-After when a service said "too many" without saying how long. */
const DEFAULT_RETRY_AFTER_S = 60;

/**
 * On every answer: never cached (a change shows on the next read), never sniffed as HTML, and a
 * policy that lets a JSON answer opened as a page load nothing and be framed by nobody.
 */
const API_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'same-origin',
};

/** A refusal with its status, code and sentence; thrown by routes and helpers, answered by the router. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new ApiError(400, 'INVALID_ARGUMENT', message);
export const notFound = (message: string) => new ApiError(404, 'NOT_FOUND', message);

/** What a route answers; the router writes it. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  /** Set (a token and when it expires) or clear (null) the session cookie. */
  session?: { token: string; expiresAt: string } | null;
}

export const json = (status: number, body: unknown): ApiResponse => ({ status, body });
export const noContent = (): ApiResponse => ({ status: 204 });

export function send(request: IncomingMessage, res: ServerResponse, answer: ApiResponse): void {
  const headers: Record<string, string | string[]> = { ...API_HEADERS };
  if (answer.session !== undefined) headers['set-cookie'] = sessionCookie(request, answer.session);
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end();
    return;
  }
  headers['content-type'] = 'application/json';
  res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
}

export function sendError(request: IncomingMessage, res: ServerResponse, err: unknown): void {
  const failure = apiErrorOf(err);
  for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
  send(request, res, json(failure.status, { error: { code: failure.code, message: failure.message } }));
}

function apiErrorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ServiceError) {
    const headers: Record<string, string> =
      err.code === 'RESOURCE_EXHAUSTED' ? { 'retry-after': String(err.retryAfterS ?? DEFAULT_RETRY_AFTER_S) } : {};
    return new ApiError(httpStatusOf(err.code), err.code, err.message, headers);
  }
  console.error(JSON.stringify({ level: 'error', name: 'web', msg: 'api route failed', err: String(err) }));
  return new ApiError(500, 'INTERNAL', 'Something went wrong on our side. Please try again.');
}

/** Refuse a change (POST, PUT, DELETE) another site's page may have sent. */
export function refuseCrossSite(request: IncomingMessage): void {
  const refusal = crossSiteRefusal(request, 'api');
  if (refusal !== undefined) throw new ApiError(403, 'PERMISSION_DENIED', refusal);
}

/** The session token a request carries: a Bearer header first, else the session cookie. */
export function requestToken(request: IncomingMessage): string | undefined {
  return bearerToken(request) ?? cookie(request, SESSION_COOKIE);
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const pair of (header(request, 'cookie') ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

/** `Set-Cookie` for the session: HttpOnly, SameSite=Lax, Path=/, Secure by the rule in cookie.ts. */
function sessionCookie(request: IncomingMessage, session: { token: string; expiresAt: string } | null): string {
  const attributes: CookieAttributes = sessionCookieAttributes(webConfig(), {
    forwardedProto: header(request, 'x-forwarded-proto') ?? null,
    host: header(request, 'host') ?? null,
  });
  const parts = [
    `${SESSION_COOKIE}=${session === null ? '' : session.token}`,
    `Path=${attributes.path}`,
    session === null ? 'Max-Age=0' : `Expires=${new Date(session.expiresAt).toUTCString()}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (attributes.secure) parts.push('Secure');
  return parts.join('; ');
}

/** The request's JSON object body: 400 for another content type or malformed JSON, 413 over MAX_BODY_BYTES. */
export async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = header(request, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw invalid('Send the body as JSON, with Content-Type: application/json.');
  const text = await readText(request);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid('The body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

async function readText(request: IncomingMessage): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, 'RESOURCE_EXHAUSTED', `The body is too large: at most ${MAX_BODY_BYTES} bytes, please.`);
  if (Number(header(request, 'content-length')) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge(); // the router closes the connection after answering
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A string field of a body: '' when absent, 400 when it is something else. */
export function textField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`${name} must be a string.`);
  return value;
}

/** An optional string field: undefined when absent or empty. */
export function optionalTextField(body: Record<string, unknown>, name: string): string | undefined {
  return textField(body, name) || undefined;
}
