/**
 * What every JSON API route (app/api/**) shares: who is calling (the session cookie or an
 * `Authorization: Bearer` token), the cross-site check on changes, reading a small JSON body,
 * and one shape for every failure: `{ "error": { "code", "message" } }` with the status of
 * the code (the transport's table), a sentence for a person as the message, and Retry-After
 * on 429.
 *
 * Cross-site requests (CSRF): a browser attaches the session cookie to requests another site
 * makes, so every POST/PUT/DELETE must show it comes from this site. Its Origin header must
 * name this host; a request without one is accepted only when it authenticates with a Bearer
 * header, which a browser never attaches on its own (and then the cookie is not looked at).
 * SameSite=Lax already keeps the cookie off cross-site POSTs in today's browsers; this check
 * does not depend on that.
 */
import 'server-only';
import type { NextRequest } from 'next/server';
import { httpStatusOf, type ErrorCode } from '@chirp/transport';
import { SESSION_COOKIE } from './cookie';
import { ServiceError } from './errors';
import { viewerOfToken, type Viewer } from './session';

/** The largest request body read: a sign-up or a post is a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Retry-After when a service said "too many" without saying how long. */
const DEFAULT_RETRY_AFTER_S = 60;
const CHANGES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** A refusal with its status, code and sentence; thrown by routes and helpers, answered by apiRoute. */
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

type RouteContext<Params> = { params: Promise<Params> };

/**
 * A route handler with the cross-site check in front (for changes) and every failure answered
 * as JSON. Handlers return a Response (see `json`, `noContent`) or throw.
 */
export function apiRoute<Params = Record<string, never>>(
  handler: (request: NextRequest, params: Params) => Promise<Response>,
): (request: NextRequest, context: RouteContext<Params>) => Promise<Response> {
  return async (request, context) => {
    try {
      if (CHANGES.has(request.method)) refuseCrossSite(request);
      return await handler(request, await context.params);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

export function json(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { 'cache-control': 'no-store' } });
}

export function noContent(): Response {
  return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
}

function errorResponse(err: unknown): Response {
  const failure = apiErrorOf(err);
  const response = json(failure.status, { error: { code: failure.code, message: failure.message } });
  for (const [name, value] of Object.entries(failure.headers)) response.headers.set(name, value);
  return response;
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

function refuseCrossSite(request: NextRequest): void {
  const origin = request.headers.get('origin');
  if (origin === null) {
    if (bearerToken(request) !== undefined) return;
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      'This change was refused: it has no Origin header. Browsers send one; other clients send this site as the Origin, or an Authorization: Bearer token.',
    );
  }
  if (!isThisSite(origin, request)) {
    throw new ApiError(403, 'PERMISSION_DENIED', 'This change was refused: it comes from another site.');
  }
}

/** Whether `origin` names the host this request was sent to (as a proxy forwarding it says, if any). */
function isThisSite(origin: string, request: NextRequest): boolean {
  const host = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim() || request.headers.get('host');
  try {
    return host !== null && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed page, a file) or garbage
  }
}

function bearerToken(request: NextRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
  return match?.[1];
}

/** The session token a request carries: a Bearer header first, else the session cookie. */
export function requestToken(request: NextRequest): string | undefined {
  return bearerToken(request) ?? (request.cookies.get(SESSION_COOKIE)?.value || undefined);
}

/** The caller, or null when the request carries no session auth knows. */
export async function apiViewer(request: NextRequest, action: string): Promise<Viewer | null> {
  const token = requestToken(request);
  return token === undefined ? null : viewerOfToken(token, action);
}

/** The caller, or 401. */
export async function requireApiViewer(request: NextRequest, action: string): Promise<Viewer> {
  const viewer = await apiViewer(request, action);
  if (viewer !== null) return viewer;
  throw new ApiError(
    401,
    'UNAUTHENTICATED',
    requestToken(request) === undefined
      ? 'Log in first: send the session cookie or an Authorization: Bearer token.'
      : 'Your session has ended. Please log in again.',
  );
}

/** The request's JSON object body: 400 for another content type or malformed JSON, 413 over MAX_BODY_BYTES. */
export async function readJson(request: NextRequest): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
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

async function readText(request: NextRequest): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, 'RESOURCE_EXHAUSTED', `The body is too large: at most ${MAX_BODY_BYTES} bytes, please.`);
  if (Number(request.headers.get('content-length')) > MAX_BODY_BYTES) throw tooLarge();
  if (request.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(read.value);
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
