/**
 * HTTP transport: Fastify serves `POST /<service>/<method>` (server.ts), undici Pools call
 * it (client.ts), events are webhooks (webhooks.ts: publisher, callbacks.ts: subscriber).
 *
 * Delivery guarantee. A request is sent at most once per call: the transport never
 * retries one that may have reached a handler. The one exception is a refused connection
 * (nothing was sent), which moves on to the service's next live address. A call that
 * times out or loses its connection fails (DEADLINE_EXCEEDED / UNAVAILABLE) and its
 * handler may or may not have run; retrying is the caller's decision.
 * Events are best effort: POSTed once to each subscriber, not awaited, not retried. An
 * event published while a registration is missing (a publisher restarted and has not yet
 * been re-registered, at most ttl/3 later) is lost for that subscriber, as is one a
 * too-slow subscriber cannot take.
 * Limits. Request, reply and event bodies: maxMessageBytes (1 MiB by default), checked
 * by the sender before sending and by the receiver (413 RESOURCE_EXHAUSTED) regardless.
 * Ordering. None across concurrent calls, nor between events: each waits for its own
 * pooled connection (up to CONNECTIONS_PER_ORIGIN per replica), and any of them may answer first.
 *
 * Wire: body = JSON payload (none when undefined); W3C `traceparent` (and `tracestate`),
 * `x-timeout-ms` (the caller's remaining time) in headers; with TRANSPORT_SECRET, `x-chirp-seal`
 * (auth.ts: method, path and body signed; anything unsigned is answered 401 before it runs). 200 + JSON result, 204 for no result, otherwise
 * the error code's HTTP status (errors.ts) with `{code, message}`.
 */
import { TransportError } from '../errors.js';
import { CloseOrder } from '../close-order.js';
import { ServiceEndpoints, followReplicas } from '../endpoints.js';
import { checkSize, outgoing, type OutgoingRequest, type TransportOptions } from '../options.js';
import { SubscriberRegistry } from '../subscribers.js';
import { PublishCall, codeOf } from '../tracing.js';
import type {
  EventHandler,
  Handlers,
  Listener,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { SEALED, type AuthStats } from '../signing.js';
import { requestHeaders } from './app.js';
import { HttpSigning } from './auth.js';
import { CallbackSubscriptions } from './callbacks.js';
import { ServiceCall } from './call.js';
import { HttpClient } from './client.js';
import { loadHttpTls, type HttpTls } from './tls.js';
import { serveHttp } from './server.js';
import { emptyWebhookStats, fanOut, type CallbackSink } from './webhooks.js';

/** Methods whose path is remembered, per service: a caller making up method names cannot grow it without end. */
const MAX_CACHED_PATHS = 1_000;

export class HttpTransport implements Transport {
  readonly kind = 'http' as const;
  readonly maxMessageBytes: number;
  readonly #options: TransportOptions;
  readonly #client: HttpClient;
  /** TRANSPORT_SECRET: seals every request sent, checks every one served (auth.ts). */
  readonly #signing: HttpSigning;
  /** TCP_TLS_* files, used for HTTPS (mutual with a CA) too (tls.ts). */
  readonly #tls: HttpTls;
  readonly #subscriptions: CallbackSubscriptions;
  readonly #endpoints: ServiceEndpoints;
  readonly #paths = new Map<string, Map<string, string>>();
  readonly #registries = new Map<string, SubscriberRegistry<CallbackSink>>();
  readonly #listeners = new Set<Listener>();
  readonly #webhooks = emptyWebhookStats();
  readonly #closing = new CloseOrder('http');

  constructor(options: TransportOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes;
    this.#tls = loadHttpTls(options.tcpTls);
    this.#client = new HttpClient(options.maxMessageBytes, this.#tls.client);
    this.#signing = new HttpSigning(options.secret);
    this.#subscriptions = new CallbackSubscriptions(options, this.#client, this.#signing, this.#tls.server);
    this.#endpoints = new ServiceEndpoints(
      'http',
      (service) => this.#options.route(service).addresses,
      undefined,
      options.replicas,
    );
    // A replica that left: its pool closes once its requests are done.
    followReplicas(options.replicas, [this.#endpoints, this.#subscriptions], (address) =>
      this.#client.retire(this.#client.originOf(address)),
    );
  }

  /** Requests this transport's servers refused as unsigned, stale or replayed (TRANSPORT_SECRET); webhooks that failed. */
  counters(): Record<string, number> {
    return { ...this.#signing.stats, ...this.#webhooks };
  }

  get authStats(): Readonly<AuthStats> {
    return this.#signing.stats;
  }

  // ---- client side -------------------------------------------------------------------

  /** Not `async`, nor is anything under it: a promise per layer was most of this side's own CPU. */
  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    let out: OutgoingRequest | undefined;
    let call: ServiceCall;
    try {
      this.#closing.assertCalling();
      out = outgoing('http', service, method, options, this.#options.defaultTimeoutMs);
      const body = serialize(payload, `request ${service}.${method}`);
      const bytes = body === undefined ? 0 : Buffer.byteLength(body);
      checkSize(bytes, this.maxMessageBytes, `request ${service}.${method}`);
      const headers = requestHeaders(out.call.carrier, out.timeoutMs, body !== undefined);
      const path = this.#pathOf(service, method);
      this.#signing.sign(headers, SEALED.httpToServer, 'POST', path, body);
      const request = { path, headers, body, bytes };
      call = new ServiceCall(this.#client, out.id, this.#endpoints.of(service), request, out.call);
    } catch (err) {
      return out === undefined ? Promise.reject(err as Error) : out.call.fail(err);
    }
    return this.#client.start(call, `http ${service}.${method}`, out.timeoutMs, out.call);
  }

  /** `/<service>/<method>`, escaped, made once per method rather than per call. */
  #pathOf(service: string, method: string): string {
    let paths = this.#paths.get(service);
    if (paths === undefined) {
      paths = new Map();
      this.#paths.set(service, paths);
    }
    let path = paths.get(method);
    if (path === undefined) {
      path = `/${encodeURIComponent(service)}/${encodeURIComponent(method)}`;
      if (paths.size < MAX_CACHED_PATHS) paths.set(method, path);
    }
    return path;
  }

  async subscribe(
    service: string,
    topic: string,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#closing.assertServing();
    return this.#subscriptions.subscribe(service, topic, handler, options?.group);
  }

  // ---- server side -------------------------------------------------------------------

  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const registry = new SubscriberRegistry<CallbackSink>();
    const server = await serveHttp(service, handlers, this.#options, registry, {
      signing: this.#signing,
      client: this.#client,
      tls: this.#tls.server,
      stats: this.#webhooks,
    });
    this.#registries.set(service, registry);
    let closing: Promise<void> | undefined;
    const listener: Listener = {
      address: server.address,
      // Once, and a second close() waits for the first: in-flight handlers finish before either resolves.
      close: () =>
        (closing ??= (async () => {
          this.#listeners.delete(listener);
          if (this.#registries.get(service) === registry) this.#registries.delete(service);
          await server.close();
        })()),
    };
    this.#listeners.add(listener);
    return listener;
  }

  async publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    this.#closing.assertCalling();
    const registry = this.#registries.get(service);
    if (registry === undefined) {
      throw new TransportError(
        'INTERNAL',
        `http: publish on ${service} needs serve(${service}) first: subscribers register with its listener`,
      );
    }
    const { defaultTimeoutMs, logger } = this.#options;
    const publishing = new PublishCall('http', service, topic, options?.parent);
    try {
      const { copies, bytes } = fanOut(
        { client: this.#client, signing: this.#signing, logger, stats: this.#webhooks },
        registry,
        topic,
        event,
        publishing.carrier,
        defaultTimeoutMs,
        this.maxMessageBytes,
      );
      publishing.sent(copies, bytes);
      publishing.end('OK');
    } catch (err) {
      publishing.end(codeOf(err));
      throw err;
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------

  close(): Promise<void> {
    return this.#closing.close(
      () => Promise.all([...this.#listeners].map((listener) => listener.close())),
      async () => {
        await this.#subscriptions.close();
        await this.#client.close();
      },
    );
  }
}

function serialize(value: unknown, what: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new TransportError('INVALID_ARGUMENT', `${what}: payload is not JSON-serializable`, { cause: err });
  }
}
