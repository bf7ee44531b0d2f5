/**
 * Builds the Transport a process uses: one object that sends each service's calls over
 * that service's transport (TRANSPORT, or <SERVICE>_TRANSPORT), creating each of the four
 * implementations only if some service needs it. Without a TRANSPORT_SECRET, the first use
 * of HTTP, TCP or UDP logs one warning that their traffic is unauthenticated.
 */
import { DEFAULT_TRANSPORT_CONFIG, type TransportConfig } from './config.js';
import { defaultListen } from './endpoints.js';
import { rateLimitedLogger, silentLogger, type Logger } from './logger.js';
import { secretBytes } from './signing.js';
import type { ServiceRoute, TransportOptions } from './options.js';
import { AmqpTransport } from './amqp/index.js';
import { HttpTransport } from './http/index.js';
import { TcpTransport } from './tcp/index.js';
import { UdpTransport } from './udp/index.js';
import type {
  EventHandler,
  Handlers,
  Listener,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportKind,
} from './transport.js';

const IMPLEMENTATIONS: Record<TransportKind, (options: TransportOptions) => Transport> = {
  http: (options) => new HttpTransport(options),
  amqp: (options) => new AmqpTransport(options),
  tcp: (options) => new TcpTransport(options),
  udp: (options) => new UdpTransport(options),
};

/** Tallies that are levels, not counts (Transport.counters). */
const COUNTER_GAUGES = new Set(['open']);

export function createTransport(config: Partial<TransportConfig> = {}, logger: Logger = silentLogger): RoutedTransport {
  return new RoutedTransport({ ...DEFAULT_TRANSPORT_CONFIG, ...config }, logger);
}

export class RoutedTransport implements Transport {
  readonly config: TransportConfig;
  readonly #logger: Logger;
  readonly #implementations = new Map<TransportKind, Transport>();
  #warnedUnauthenticated = false;

  constructor(config: TransportConfig, logger: Logger) {
    if (config.secret !== undefined) secretBytes(config.secret);
    this.config = config;
    // Every transport's warnings go through one limiter: a flood of bad frames is two log lines.
    this.#logger = rateLimitedLogger(logger);
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

  /** The implementation carrying `service`'s calls (created on first use). */
  for(service: string): Transport {
    return this.#implementation(this.kindOf(service));
  }

  #implementation(kind: TransportKind): Transport {
    let transport = this.#implementations.get(kind);
    if (transport === undefined) {
      if (kind !== 'amqp' && this.config.secret === undefined) this.#warnUnauthenticated();
      transport = IMPLEMENTATIONS[kind]({
        route: (s) => this.route(s),
        maxMessageBytes: this.config.maxMessageBytes[kind],
        defaultTimeoutMs: this.config.defaultTimeoutMs,
        shutdownGraceMs: this.config.shutdownGraceMs,
        subscriptionTtlMs: this.config.subscriptionTtlMs,
        amqpUrl: this.config.amqpUrl,
        amqpPrefix: this.config.amqpPrefix,
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

  route(service: string): ServiceRoute {
    const own = this.config.services[service];
    const addresses = own?.addresses ?? [];
    const listen = own?.listen ?? defaultListen(addresses);
    if (listen === undefined) {
      throw new Error(`no address configured for service ${service}: set ${service.toUpperCase()}_ADDR=host:port`);
    }
    return { addresses, listen };
  }

  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    return this.for(service).request(service, method, payload, options);
  }

  publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    return this.#implementation(this.eventsKindOf(service)).publish(service, topic, event, options);
  }

  /**
   * Serve `service`'s handlers on its transport. When its events travel on another one, a
   * second listener without handlers is opened there too, at the same address, to take
   * subscribers' registrations (HTTP, TCP and UDP subscribers register with the publisher).
   * The two must not both be TCP-based (http and tcp) on one port.
   */
  async serve(service: string, handlers: Handlers): Promise<Listener> {
    const listener = await this.for(service).serve(service, handlers);
    const eventsKind = this.eventsKindOf(service);
    if (eventsKind === this.kindOf(service)) return listener;
    const events = await this.#implementation(eventsKind)
      .serve(service, {})
      .catch(async (err: unknown) => {
        await listener.close();
        throw err;
      });
    return {
      address: listener.address,
      close: async () => void (await Promise.all([listener.close(), events.close()])),
    };
  }

  subscribe(service: string, topic: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.#implementation(this.eventsKindOf(service)).subscribe(service, topic, handler, options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#implementations.values()].map((t) => t.close()));
    this.#implementations.clear();
  }
}
