/**
 * The JSON API as a test calls it: exact headers (a browser's Origin and cookie, or a Bearer
 * token, or neither), the status, headers and parsed body back. node:http rather than fetch,
 * so nothing is added to or dropped from the request behind the test's back.
 */
import { performance } from 'node:perf_hooks';
import http from 'node:http';

export interface ApiCall {
  /** Sent as JSON with Content-Type: application/json (a string is sent as is). */
  body?: unknown;
  token?: string;
  cookie?: string;
  /** The Origin header; by default the app's own for changes, none for reads. null: none. */
  origin?: string | null;
  headers?: Record<string, string>;
  /** The loopback address to connect from (any 127.x.y.z on Linux): another client, or a proxy. */
  localAddress?: string;
}

export interface ApiReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- whatever JSON came back
  ms: number;
}

export type Api = (method: string, path: string, call?: ApiCall) => Promise<ApiReply>;

/** A caller of the app at `baseUrl`. */
export function apiClient(baseUrl: string): Api {
  return (method, path, call = {}) => {
    const url = new URL(path, baseUrl);
    const headers: Record<string, string> = { ...call.headers };
    const origin = call.origin === undefined ? (method === 'GET' ? null : url.origin) : call.origin;
    if (origin !== null) headers.origin = origin;
    if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
    if (call.cookie !== undefined) headers.cookie = call.cookie;
    let payload: string | undefined;
    if (call.body !== undefined) {
      payload = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
      headers['content-type'] ??= 'application/json';
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const request = http.request(url, { method, headers, localAddress: call.localAddress }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: the test sees the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - started });
        });
        res.on('error', reject);
      });
      request.on('error', reject);
      request.end(payload);
    });
  };
}

/** The chirp_session cookie a reply set, as a Cookie header value ('' when it cleared it). */
export function sessionCookieOf(reply: ApiReply): string | undefined {
  const set = (reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('chirp_session='));
  return set?.split(';')[0];
}
