/**
 * A service's HTTP listener: one Fastify route per method, `POST /<service>/<method>`,
 * the JSON body being the payload, the W3C trace context and the caller's remaining time in
 * headers. Handlers run through the shared dispatch(); this file only maps its reply
 * body to a status: 200 + JSON, 204 for no result, or the error code's status with
 * `{code, message}`. The same app takes event registrations (webhooks.ts). With TRANSPORT_SECRET,
 * every request must be signed (auth.ts) before anything else runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TransportError, httpStatusOf } from '../errors.js';
import type { ReplyBody } from '../envelope.js';
import { InFlight, dispatch, type IncomingRequest } from '../dispatch.js';
import { formatHostPort, parseHostPort } from '../endpoints.js';
import type { TransportOptions } from '../options.js';
import type { SubscriberRegistry } from '../subscribers.js';
import type { Handlers, Listener } from '../transport.js';
import {
  JSON_TYPE,
  PLAIN_SEGMENT,
  TIMEOUT_HEADER,
  closeApp,
  createApp,
  headerOf,
  sendError,
  traceHeadersOf,
} from './app.js';
import { SEALED } from '../signing.js';
import { httpsOptions, type HttpTls } from './tls.js';
import { subscriptionRoutes, type CallbackSink, type WebhookPeers } from './webhooks.js';

export async function serveHttp(
  service: string,
  handlers: Handlers,
  options: TransportOptions,
  registry: SubscriberRegistry<CallbackSink>,
  peers: Omit<WebhookPeers, 'logger'> & { tls: HttpTls['server'] },
): Promise<Listener> {
  if (!PLAIN_SEGMENT.test(service)) {
    throw new TransportError(
      'INVALID_ARGUMENT',
      `http: service name ${JSON.stringify(service)} cannot be a URL path segment`,
    );
  }
  const { host, port } = parseHostPort(options.route(service).listen);
  const { logger, maxMessageBytes } = options;
  const app = createApp(maxMessageBytes, logger, peers.tls === undefined ? undefined : httpsOptions(peers.tls));
  // First: with a secret, nothing below runs for a request that is not signed.
  peers.signing.guard(app, SEALED.httpToServer, logger);
  const inFlight = new InFlight();

  /**
   * Answers at once when the handler did (a plain value), else once its promise settles: an
   * async wrapper per request and a microtask hop before every reply showed in the server's
   * profile. Fastify takes either: nothing returned once the reply is sent, or a promise of it.
   */
  const answer = (method: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const timeoutMs = parseTimeout(headerOf(request, TIMEOUT_HEADER), options.defaultTimeoutMs);
    if (timeoutMs === undefined) {
      const message = `${TIMEOUT_HEADER} must be a positive number of milliseconds`;
      sendError(reply, 400, { code: 'INVALID_ARGUMENT', message });
      return undefined;
    }
    const incoming: IncomingRequest = {
      transport: 'http',
      service,
      method,
      trace: traceHeadersOf(request),
      deadline: Date.now() + timeoutMs,
      peer: `${request.socket.remoteAddress}:${request.socket.remotePort}`,
    };
    const body = dispatch(handlers, incoming, request.body, logger);
    if (!(body instanceof Promise)) {
      sendReply(reply, body, maxMessageBytes, logger);
      return undefined;
    }
    inFlight.enter();
    return body.then((settled) => {
      inFlight.leave();
      return sendReply(reply, settled, maxMessageBytes, logger);
    });
  };

  for (const method of Object.keys(handlers)) {
    if (PLAIN_SEGMENT.test(method))
      app.post(`/${service}/${method}`, (request, reply) => answer(method, request, reply));
  }
  // Methods whose names need escaping, and unknown ones: dispatch() answers UNIMPLEMENTED for those.
  app.post<{ Params: { method: string } }>(`/${service}/:method`, (request, reply) =>
    answer(request.params.method, request, reply),
  );
  subscriptionRoutes(app, registry, { signing: peers.signing, client: peers.client, stats: peers.stats, logger });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const segments = path.split('/');
    if (request.method === 'POST' && segments.length === 3) {
      // Mostly another service's call reaching this port: a misconfigured address, said as TCP says it.
      const [asked, method] = [safeDecode(segments[1] ?? ''), safeDecode(segments[2] ?? '')];
      const message =
        asked === service ? `${service} has no method ${method}` : `this endpoint serves ${service}, not ${asked}`;
      return sendError(reply, 501, { code: 'UNIMPLEMENTED', message });
    }
    const message = `no route ${request.method} ${path}: calls are POST /${service}/<method>`;
    return sendError(reply, 404, { code: 'NOT_FOUND', message });
  });

  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const bound = app.server.address();
  const address =
    typeof bound === 'object' && bound !== null
      ? formatHostPort({ host: bound.address, port: bound.port })
      : `${host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    address,
    close: () => (closing ??= closeApp(app, () => inFlight.drained(options.shutdownGraceMs))),
  };
}

/** Missing: the default. Present: a positive number, else undefined (the caller sent nonsense). */
export function parseTimeout(header: string | undefined, defaultMs: number): number | undefined {
  if (header === undefined) return defaultMs;
  const ms = Number(header);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function sendReply(
  reply: FastifyReply,
  body: ReplyBody,
  maxMessageBytes: number,
  logger: TransportOptions['logger'],
): FastifyReply {
  if (!body.ok) return sendError(reply, httpStatusOf(body.error.code), body.error);
  let text: string | undefined;
  try {
    // Serialized here, not by Fastify: it would send a string result raw instead of as JSON.
    text = JSON.stringify(body.result);
  } catch (err) {
    logger.error({ err }, 'http: handler result is not JSON-serializable');
    return sendError(reply, 500, { code: 'INTERNAL', message: 'internal error' });
  }
  if (text === undefined) return reply.code(204).send();
  if (Buffer.byteLength(text) > maxMessageBytes) {
    const message = `reply is over this transport's limit of ${maxMessageBytes} bytes`;
    return sendError(reply, httpStatusOf('RESOURCE_EXHAUSTED'), { code: 'RESOURCE_EXHAUSTED', message });
  }
  return reply.code(200).header('content-type', JSON_TYPE).send(text);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
