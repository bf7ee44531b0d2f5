/**
 * Builds the Transport a process uses: one object that sends each service's calls over
 * that service's transport (TRANSPORT, or <SERVICE>_TRANSPORT), creating each of the four
 * implementations only if some service needs it. Without a TRANSPORT_SECRET, the first use
 * of HTTP, TCP or UDP logs one warning that their traffic is unauthenticated.
 *
 * Comparing transports on the running application (COMPARE_TRANSPORTS): every service then also
 * serves its handlers on the other transports, and a call whose parent context was marked with
 * `via(context, kind)` goes over `kind` — and so does every onward call its handler makes, since the
 * extra listeners mark the handler's context the same way. One action, the same hops, one transport.
 */
import { context, createContextKey, type Context } from '@opentelemetry/api';
import { DEFAULT_TRANSPORT_CONFIG, type TransportConfig } from './config.js';
import { defaultListen } from './endpoints.js';
import { TransportError } from './errors.js';
import { retried } from './retry.js';
import { checkPublishedTopic } from './subscribers.js';
import { CloseOrder } from './close-order.js';
import { rateLimitedLogger, silentLogger, type Logger } from './logger.js';
import { secretBytes } from './signing.js';
import { Replicas, expandReplicas, type Lookup } from './replicas.js';
import type { ServiceRoute } from './options.js';
import { TRANSPORTS } from './transports.js';
import {
  TRANSPORT_KINDS,
  type EventHandler,
  type Handler,
  type Handlers,
  type Listener,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  type TransportKind,
} from './transport.js';

/** Tallies that are levels, not counts (Transport.counters). */
const COUNTER_GAUGES = new Set(['open']);

const VIA = createContextKey('chirp.transport.via');

/**
 * `parent`, marked so that calls made under it go over `kind` (where the service is served on it:
 * see RoutedTransport.servesOn), whatever the service's own transport is.
 */
export function via(parent: Context, kind: TransportKind): Context {
  return parent.setValue(VIA, kind);
}

/** `lookup` stands in for DNS (tests: replicas that come and go); by default the system resolver. */
export function createTransport(
  config: Partial<TransportConfig> = {},
  logger: Logger = silentLogger,
  { lookup }: { lookup?: Lookup } = {},
): RoutedTransport {
  return new RoutedTransport({ ...DEFAULT_TRANSPORT_CONFIG, ...config }, logger, lookup);
}

export class RoutedTransport implements Transport {
  readonly config: TransportConfig;
  readonly #logger: Logger;
  readonly #implementations = new Map<TransportKind, Transport>();
  /** Every listener serve() made (closing one twice is harmless): closed before any implementation, since their handlers may call across kinds. */
  readonly #listeners = new Set<Listener>();
  readonly #closing = new CloseOrder('transport');
  /** The replicas behind host names in services' addresses, followed for every transport (replicas.ts). */
  readonly #replicas: Replicas;
  readonly #lookup: Lookup | undefined;
  #warnedUnauthenticated = false;

  constructor(config: TransportConfig, logger: Logger, lookup?: Lookup) {
    if (config.secret !== undefined) secretBytes(config.secret);
    this.config = config;
    // Every transport's warnings go through one limiter: a flood of bad frames is two log lines.
    this.#logger = rateLimitedLogger(logger);
    this.#lookup = lookup;
    this.#replicas = new Replicas({ refreshMs: config.replicaRefreshMs, lookup, logger: this.#logger });
  }

  /**
   * Resolve every host name in the services' addresses now, so that the first calls already spread
   * over every replica (run.ts awaits this at start); they are followed from then on. With
   * REPLICA_REFRESH_MS=0, resolved this once, into the config itself, as before.
   */
  async resolveReplicas(): Promise<void> {
    if (!this.#replicas.following) return expandReplicas(this.config.services, this.#lookup);
    const addresses = Object.keys(this.config.services).flatMap((service) =>
      this.kindsOf(service)
        .filter((kind) => !TRANSPORTS[kind].brokered) // brokers find replicas themselves: nothing to resolve
        .flatMap((kind) => this.#configured(service, kind).addresses),
    );
    await this.#replicas.resolve(addresses);
  }

  /**
   * Every transport's tallies as /metrics figures: `transport_tcp_hello_timeout_total`,
   * `transport_tcp_open`, … (see Transport.counters).
   */
  counters(): Record<string, number> {
    const figures: Record<string, number> = {};
    for (const [kind, implementation] of this.#implementations) {
      for (const [name, value] of Object.entries(implementation.counters?.() ?? {})) {
        const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        figures[`transport_${kind}_${snake}${COUNTER_GAUGES.has(name) ? '' : '_total'}`] = value;
      }
    }
    return figures;
  }

  /** The transport `service` is reached on. */
  kindOf(service: string): TransportKind {
    return this.config.services[service]?.transport ?? this.config.transport;
  }

  /**
   * The transport `service`'s events travel on: its own, unless set apart
   * (<SERVICE>_EVENTS_TRANSPORT; TRANSPORT=mixed sends posts' events over UDP).
   */
  eventsKindOf(service: string): TransportKind {
    return this.config.services[service]?.events ?? this.kindOf(service);
  }

  /** Every transport `service`'s handlers are served on: its own, its events', and COMPARE_TRANSPORTS'. */
  kindsOf(service: string): TransportKind[] {
    const kinds = new Set([this.kindOf(service), this.eventsKindOf(service)]);
    for (const kind of TRANSPORT_KINDS) if (this.config.services[service]?.also?.[kind]) kinds.add(kind);
    return [...kinds];
  }

  servesOn(service: string, kind: TransportKind): boolean {
    return this.kindsOf(service).includes(kind);
  }

  /** The implementation carrying `service`'s calls (created on first use). */
  for(service: string): Transport {
    return this.#implementation(this.kindOf(service));
  }

  #implementation(kind: TransportKind): Transport {
    let transport = this.#implementations.get(kind);
    if (transport === undefined) {
      this.#closing.assertCalling(); // a closed transport does not come back to life
      if (!TRANSPORTS[kind].brokered && this.config.secret === undefined) this.#warnUnauthenticated();
      transport = TRANSPORTS[kind].create({
        route: (s) => this.route(s, kind),
        replicas: this.#replicas,
        maxMessageBytes: this.config.maxMessageBytes[kind],
        defaultTimeoutMs: this.config.defaultTimeoutMs,
        shutdownGraceMs: this.config.shutdownGraceMs,
        subscriptionTtlMs: this.config.subscriptionTtlMs,
        amqpUrl: this.config.amqpUrl,
        amqpPrefix: this.config.amqpPrefix,
        natsUrl: this.config.natsUrl,
        natsPrefix: this.config.natsPrefix,
        logger: this.#logger,
        secret: this.config.secret,
        tcpTls: this.config.tcpTls,
        tcpLimits: this.config.tcpLimits,
      });
      this.#implementations.set(kind, transport);
    }
    return transport;
  }

  #warnUnauthenticated(): void {
    if (this.#warnedUnauthenticated) return;
    this.#warnedUnauthenticated = true;
    this.#logger.warn(
      {},
      'HTTP/TCP/UDP service calls are unauthenticated: anyone who reaches the service ports can call services, register webhooks or spoof datagrams; set TRANSPORT_SECRET (32+ bytes) on every service',
    );
  }

  /**
   * Where `service` is reached, and listens, on `kind` (default: its own transport): on HTTP, TCP
   * and UDP each host name in its addresses stands for the replicas it resolves to now (replicas.ts);
   * it listens where the configured addresses say.
   */
  route(service: string, kind: TransportKind = this.kindOf(service)): ServiceRoute {
    const { addresses, extra } = this.#configured(service, kind);
    const resolved = TRANSPORTS[kind].brokered ? addresses : this.#replicas.expand(addresses);
    // AMQP names its queue, and needs no address
    if (extra) return { addresses: resolved, listen: defaultListen(addresses) ?? `127.0.0.1:0` };
    const listen = this.config.services[service]?.listen ?? defaultListen(addresses);
    if (listen === undefined) {
      throw new Error(`no address configured for service ${service}: set ${service.toUpperCase()}_ADDR=host:port`);
    }
    return { addresses: resolved, listen };
  }

  /** `service`'s addresses on `kind` as configured: its own, or COMPARE_TRANSPORTS' extra ones. */
  #configured(service: string, kind: TransportKind): { addresses: string[]; extra: boolean } {
    const own = this.config.services[service];
    const extra = kind === this.kindOf(service) || kind === this.eventsKindOf(service) ? undefined : own?.also?.[kind];
    return extra !== undefined ? { addresses: extra, extra: true } : { addresses: own?.addresses ?? [], extra: false };
  }

  /**
   * The one place a call's deadline is resolved (its own timeoutMs, else REQUEST_TIMEOUT_MS), and
   * where an idempotent call is retried while nobody answers (retry.ts): every attempt a child of
   * the same parent span, with the time that is left.
   */
  request(service: string, method: string, payload: unknown, options: RequestOptions = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.config.defaultTimeoutMs;
    if (options.idempotent !== true) {
      try {
        return this.#request(service, method, payload, { ...options, timeoutMs });
      } catch (err) {
        return Promise.reject(err as Error); // closed: a rejection, like every other failure
      }
    }
    const parent = options.parent ?? context.active();
    return retried(
      (remainingMs) => this.#request(service, method, payload, { parent, timeoutMs: remainingMs }),
      timeoutMs,
    );
  }

  #request(service: string, method: string, payload: unknown, options: RequestOptions): Promise<unknown> {
    const wanted = options.parent?.getValue(VIA) as TransportKind | undefined;
    if (wanted === undefined) return this.for(service).request(service, method, payload, options);
    if (!this.servesOn(service, wanted)) {
      const error = new TransportError(
        'UNAVAILABLE',
        `${service} is not served over ${wanted} (see COMPARE_TRANSPORTS)`,
      );
      return Promise.reject(error);
    }
    return this.#implementation(wanted).request(service, method, payload, options);
  }

  publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    try {
      checkPublishedTopic(topic);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#implementation(this.eventsKindOf(service)).publish(service, topic, event, options);
  }

  /**
   * Serve `service`'s handlers on its transport, and on each other one it is served on (kindsOf):
   * where its events travel, if elsewhere — at the same address, which also takes subscribers'
   * registrations (HTTP, TCP and UDP subscribers register with the publisher), so the two must not
   * both be TCP-based (http and tcp) — and each of COMPARE_TRANSPORTS, at its own address. A call
   * served on one of these others makes its onward calls over the same transport (`via`).
   */
  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const own = this.kindOf(service);
    const listeners = [await this.for(service).serve(service, handlers)];
    try {
      for (const kind of this.kindsOf(service)) {
        if (kind !== own) listeners.push(await this.#implementation(kind).serve(service, onwardVia(handlers, kind)));
      }
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw err;
    }
    for (const listener of listeners) this.#listeners.add(listener);
    if (listeners.length === 1) return listeners[0]!;
    return {
      address: listeners[0]!.address,
      close: async () => void (await Promise.all(listeners.map((l) => l.close()))),
    };
  }

  subscribe(service: string, topic: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#implementation(this.eventsKindOf(service)).subscribe(service, topic, handler, options);
  }

  /** In the order every transport closes in (close-order.ts), across every kind it holds. */
  close(): Promise<void> {
    this.#replicas.close();
    return this.#closing.close(
      () => Promise.all([...this.#listeners].map((listener) => listener.close())),
      () => Promise.all([...this.#implementations.values()].map((t) => t.close())),
    );
  }
}

/** `handlers`, each making its onward calls over `kind` (their `trace` context marked with `via`). */
function onwardVia(handlers: Handlers, kind: TransportKind): Handlers {
  const marked: Record<string, Handler> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    marked[method] = (payload, context) => handler(payload, { ...context, trace: via(context.trace, kind) });
  }
  return marked;
}
