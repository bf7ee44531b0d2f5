/**
 * What the HTTP transport's two kinds of Fastify app (a service's listener, a subscriber's
 * callback server) share: the wire names, JSON error bodies for everything Fastify itself
 * refuses, and a close that does not wait for keep-alive connections to time out.
 */
import { STATUS_CODES } from 'node:http';
import type { ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { codeOfHttpStatus, wireErrorOf, type ErrorCode, type WireError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TraceCarrier } from '../tracing.js';

export const TIMEOUT_HEADER = 'x-timeout-ms';
export const TOPIC_HEADER = 'x-chirp-topic';
/** On a publisher's challenge to a callback URL (webhooks.ts): the random bytes to answer, base64url. */
export const CHALLENGE_HEADER = 'x-chirp-challenge';
export const SUBSCRIPTIONS_PATH = '/_chirp/subscriptions';
export const EVENTS_PATH = '/_chirp/events';
export const JSON_TYPE = 'application/json; charset=utf-8';

/** Service and method names that are path segments as they are (no escaping, no `:` or `*` for the router). */
export const PLAIN_SEGMENT = /^(?!\.\.?$)[A-Za-z0-9_.~-]+$/;

/** Longest wait for replies already written to flush once in-flight work is done. */
const FLUSH_MS = 500;

/**
 * A request must arrive whole within this (Fastify's default is no limit): a client that sends
 * headers and part of a body, then holds the connection, is answered 408 and cut off instead
 * of holding a socket forever. Node checks it every 30 s, so the cut comes 30–60 s in.
 */
const RECEIVE_REQUEST_MS = 30_000;

/** `https`: serve HTTPS with these options (tls.ts), else plain HTTP. */
export function createApp(maxMessageBytes: number, logger: Logger, https?: ServerOptions): FastifyInstance {
  const onError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) logger.error({ err: error, url: request.url }, 'http: request failed in the server');
    const message = messageFor(error, status, request, maxMessageBytes);
    void sendError(reply, status, { code: codeFor(error, status), message });
  };
  // frameworkErrors: what the router refuses (a malformed URL, an overlong segment) before any route runs.
  const app = Fastify({
    ...(https === undefined ? {} : { https }),
    logger: false,
    bodyLimit: maxMessageBytes,
    requestTimeout: RECEIVE_REQUEST_MS,
    return503OnClosing: true,
    frameworkErrors: onError,
    clientErrorHandler: answerClientError,
  }) as unknown as FastifyInstance; // an https.Server under it changes nothing this transport uses
  // Fastify would hand a text/plain body to a handler as a string payload: only JSON is a payload here.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(onError);
  return app;
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (bytes that are not HTTP,
 * a body cut short of its Content-Length, headers over Node's 16 KiB): the same
 * `{code, message}` as every other refusal, instead of Fastify's `"Client Error"`, then hang up.
 */
function answerClientError(error: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, wire] = clientErrorReply(error);
  const body = JSON.stringify(wire);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: ${JSON_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function clientErrorReply(error: Error & { code?: string; reason?: string }): [number, WireError] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, { code: 'RESOURCE_EXHAUSTED', message: 'request headers are over the size limit' }];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, { code: 'DEADLINE_EXCEEDED', message: 'request not received in time' }];
    case 'HPE_INVALID_EOF_STATE':
      return [400, { code: 'INVALID_ARGUMENT', message: 'the connection ended in the middle of a request' }];
    default:
      return [400, { code: 'INVALID_ARGUMENT', message: `malformed HTTP request: ${error.reason ?? error.message}` }];
  }
}

function codeFor(error: FastifyError, status: number): ErrorCode {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'RESOURCE_EXHAUSTED';
  return status >= 500 ? 'INTERNAL' : codeOfHttpStatus(status);
}

/** Fastify's own messages are terse ("Unsupported Media Type"): say what to send instead. */
function messageFor(error: FastifyError, status: number, request: FastifyRequest, maxMessageBytes: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is over this transport's limit of ${maxMessageBytes} bytes`;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'request body is not valid JSON (or has a __proto__ or constructor.prototype key)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty but its content type is application/json: send JSON, or no body and no content type';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'];
      return `${type === undefined ? 'a body without a content type' : `content type ${JSON.stringify(type)}`} is not accepted: send application/json`;
    }
    default:
      return status >= 500 ? 'internal error' : error.message;
  }
}

export function sendError(reply: FastifyReply, status: number, error: WireError): FastifyReply {
  return reply
    .code(status)
    .header('content-type', JSON_TYPE)
    .send(JSON.stringify(wireErrorOf(error) ?? error));
}

/** The W3C Trace Context headers of a request (tracing.ts reads them, and ignores what is malformed). */
export function traceHeadersOf(request: FastifyRequest): TraceCarrier {
  return { traceparent: headerOf(request, 'traceparent'), tracestate: headerOf(request, 'tracestate') };
}

/** The headers that carry `trace` on a request we send, as names and values one after the other. */
export function traceHeaders(trace: TraceCarrier): string[] {
  const headers: string[] = [];
  if (trace.traceparent !== undefined) headers.push('traceparent', trace.traceparent);
  if (trace.tracestate !== undefined) headers.push('tracestate', trace.tracestate);
  return headers;
}

/**
 * A service call's request headers, as names and values one after the other: the content type
 * when there is a body, the trace context, the caller's remaining time. One array per call
 * (undici takes this flat form as it is); the usual deadline's text is made once.
 */
export function requestHeaders(trace: TraceCarrier, timeoutMs: number, hasBody: boolean): string[] {
  if (timeoutMs !== lastTimeoutMs) {
    lastTimeoutMs = timeoutMs;
    lastTimeoutText = String(timeoutMs);
  }
  const timeout = lastTimeoutText;
  const { traceparent, tracestate } = trace;
  const headers = hasBody ? ['content-type', JSON_TYPE, TIMEOUT_HEADER, timeout] : [TIMEOUT_HEADER, timeout];
  if (traceparent !== undefined) headers.push('traceparent', traceparent);
  if (tracestate !== undefined) headers.push('tracestate', tracestate);
  return headers;
}

let lastTimeoutMs = NaN;
let lastTimeoutText = '';

/** A header's value if it was sent once and is not empty. */
export function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Stop accepting, let `drained` (in-flight work) finish, then hang up. Node keeps a
 * keep-alive connection open after its last reply until the client's idle timeout, so
 * idle connections are closed by hand, and whatever still lingers after FLUSH_MS is cut.
 */
export async function closeApp(app: FastifyInstance, drained: () => Promise<void>): Promise<void> {
  let closed = false;
  const closing = app.close().then(() => {
    closed = true;
  });
  await drained();
  const until = Date.now() + FLUSH_MS;
  while (!closed && Date.now() < until) {
    app.server.closeIdleConnections();
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10))]);
  }
  app.server.closeAllConnections();
  await closing;
}
