/**
 * The web app's JSON API (apps/web/src/api) as the benchmark calls it: one undici Pool of
 * keep-alive connections, a user acting with `Authorization: Bearer <token>`. A reply outside
 * 2xx rejects with an ApiCallError whose code is `HTTP <status> <the API's error code>`, so the
 * report counts errors by kind; a connection failure keeps undici's code (UND_ERR_…, ECONNRESET).
 */
import { Pool } from 'undici';

export interface ApiUser {
  id: string;
  username: string;
}

export interface ApiPost {
  id: string;
  authorId: string;
  authorUsername: string;
  text: string;
  createdAt: string;
}

export interface PostPage {
  posts: ApiPost[];
  nextCursor?: string;
}

export interface Session {
  user: ApiUser;
  token: string;
  expiresAt: string;
}

export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  readonly code: string;
  readonly status: number;

  constructor(status: number, apiCode: string | undefined, message: string) {
    super(`HTTP ${status}: ${message}`);
    this.status = status;
    this.code = `HTTP ${status}${apiCode ? ` ${apiCode}` : ''}`;
  }
}

export class WebApi {
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #timeoutMs: number;

  constructor(webUrl: string, options: { connections: number; timeoutMs: number }) {
    this.#origin = new URL(webUrl).origin;
    this.#pool = new Pool(this.#origin, { connections: options.connections, pipelining: 1 });
    this.#timeoutMs = options.timeoutMs;
  }

  signUp(username: string, password: string): Promise<Session> {
    return this.#call('POST', '/api/signup', undefined, { username, password }) as Promise<Session>;
  }

  logIn(username: string, password: string): Promise<Session> {
    return this.#call('POST', '/api/login', undefined, { username, password }) as Promise<Session>;
  }

  homeTimeline(token: string, traceparent?: string): Promise<PostPage> {
    return this.#call('GET', '/api/timeline', token, undefined, traceparent) as Promise<PostPage>;
  }

  userTimeline(token: string, username: string, traceparent?: string): Promise<PostPage> {
    const path = `/api/users/${encodeURIComponent(username)}/posts`;
    return this.#call('GET', path, token, undefined, traceparent) as Promise<PostPage>;
  }

  post(token: string, text: string, traceparent?: string): Promise<{ post: ApiPost }> {
    return this.#call('POST', '/api/posts', token, { text }, traceparent) as Promise<{ post: ApiPost }>;
  }

  async follow(token: string, username: string, traceparent?: string): Promise<void> {
    await this.#call('PUT', `/api/follows/${encodeURIComponent(username)}`, token, undefined, traceparent);
  }

  async unfollow(token: string, username: string, traceparent?: string): Promise<void> {
    await this.#call('DELETE', `/api/follows/${encodeURIComponent(username)}`, token, undefined, traceparent);
  }

  search(token: string, q: string, traceparent?: string): Promise<{ posts: ApiPost[]; users: ApiUser[] }> {
    return this.#call('GET', `/api/search${query({ q })}`, token, undefined, traceparent) as Promise<{
      posts: ApiPost[];
      users: ApiUser[];
    }>;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** `traceparent`: the W3C trace context the request starts from (the load generator decides which are sampled). */
  async #call(method: string, path: string, token?: string, body?: unknown, traceparent?: string): Promise<unknown> {
    const headers: Record<string, string> = token
      ? { authorization: `Bearer ${token}` }
      : // Without a token, a change must say where it comes from, as a browser would.
        { origin: this.#origin };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (traceparent !== undefined) headers.traceparent = traceparent;
    const res = await this.#pool.request({
      method: method as 'GET',
      path,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    if (res.statusCode === 204) {
      await res.body.dump();
      return undefined;
    }
    const text = await res.body.text();
    const parsed = parseJson(text) as { error?: { code?: string; message?: string } } | undefined;
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed;
    throw new ApiCallError(res.statusCode, parsed?.error?.code, parsed?.error?.message ?? text.slice(0, 200));
  }
}

function query(params: Record<string, string | undefined>): string {
  const set = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return set.length === 0 ? '' : `?${new URLSearchParams(set).toString()}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
