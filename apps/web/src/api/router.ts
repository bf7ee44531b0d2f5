/**
 * Every /api request, from server.ts: found by method and path, run inside a span of its own (the
 * root of the action's trace, a child of the caller's when it sent a traceparent), checked for
 * cross-site changes, answered as JSON. Unknown paths are a JSON 404, a known path asked with
 * another method a 405; a path that is not valid percent-encoding a 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { ApiError, invalid, notFound, refuseCrossSite, send, sendError } from './http.js';
import {
  changeFollow,
  createPost,
  deletePost,
  homeTimeline,
  logIn,
  logOut,
  me,
  search,
  signUp,
  updateProfile,
  userProfile,
  userTimeline,
  type Route,
} from './routes.js';

interface Entry {
  method: string;
  /** The path as the README writes it, e.g. /api/users/:username (the span's http.route). */
  template: string;
  route: Route;
}

const ENTRIES: Entry[] = [
  { method: 'POST', template: '/api/signup', route: signUp },
  { method: 'POST', template: '/api/login', route: logIn },
  { method: 'POST', template: '/api/logout', route: logOut },
  { method: 'GET', template: '/api/me', route: me },
  { method: 'PUT', template: '/api/profile', route: updateProfile },
  { method: 'GET', template: '/api/timeline', route: homeTimeline },
  { method: 'GET', template: '/api/users/:username', route: userProfile },
  { method: 'GET', template: '/api/users/:username/posts', route: userTimeline },
  { method: 'POST', template: '/api/posts', route: createPost },
  { method: 'DELETE', template: '/api/posts/:id', route: deletePost },
  { method: 'PUT', template: '/api/follows/:username', route: changeFollow('follow') },
  { method: 'DELETE', template: '/api/follows/:username', route: changeFollow('unfollow') },
  { method: 'GET', template: '/api/search', route: search },
];

/** Each template as a pattern: `:name` matches one path segment. */
const PATTERNS = ENTRIES.map((entry) => ({
  entry,
  pattern: new RegExp(`^${entry.template.replace(/:([a-z]+)/g, '(?<$1>[^/]+)')}$`),
}));

const tracer = trace.getTracer('@chirp/web');

export function answerApi(raw: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(raw.url ?? '/', 'http://web');
  const method = raw.method ?? 'GET';
  const matches = PATTERNS.map(({ entry, pattern }) => ({ entry, found: pattern.exec(url.pathname) })).filter(
    (m) => m.found !== null,
  );
  const match = matches.find((m) => m.entry.method === method);
  const template = match?.entry.template ?? 'unknown';
  const parent = propagation.extract(ROOT_CONTEXT, raw.headers);
  const span = tracer.startSpan(
    `${method} ${template}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'http.route': template, 'url.path': url.pathname },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      if (match === undefined) {
        if (matches.length === 0) throw notFound(`There is no API at ${url.pathname}.`);
        const allowed = matches.map((m) => m.entry.method).join(', ');
        throw new ApiError(405, 'UNIMPLEMENTED', `${url.pathname} answers ${allowed}, not ${method}.`, {
          allow: allowed,
        });
      }
      refuseCrossSite(raw);
      const params = decodedParams(match.found!.groups ?? {});
      send(raw, res, await match.entry.route({ raw, query: url.searchParams, params }));
    } catch (err) {
      sendError(raw, res, err);
    } finally {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  });
}

function decodedParams(groups: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(groups)) {
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      throw invalid(`The ${name} in the path is not valid URL encoding.`);
    }
  }
  return params;
}
