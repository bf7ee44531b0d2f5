/**
 * A process's Prometheus metrics, on prom-client:
 *
 *   chirp_rpc_client_duration_seconds   histogram  every call this process made, by service, method, transport, code
 *   chirp_rpc_server_duration_seconds   histogram  every call it served, the same labels
 *   chirp_events_total                  counter    events published and delivered, by side, service, topic, transport, code
 *   chirp_<name>                        the process's own figures (notify's open sockets, posts' relay queue, …)
 *   process_*, nodejs_*                 prom-client's defaults: CPU, memory, event-loop lag, GC, handles
 *
 * Every series carries `service` (the process) as a default label. The transport reports calls
 * through its observer hook (observer.ts in @chirp/transport); label sets are few and fixed, so
 * each one's child is looked up once and kept, and a call costs one Map lookup and one observe().
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallObserver, TransportKind } from '@chirp/transport';

/** From 100 µs (a TCP call on loopback) to 5 s (the default deadline). */
const BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Observe = (seconds: number) => void;

export class Metrics implements CallObserver {
  readonly registry = new Registry();
  readonly #durations: Record<'client' | 'server', Histogram>;
  readonly #events: Counter;
  readonly #children = new Map<string, Observe>();
  readonly #eventChildren = new Map<string, () => void>();

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const labelNames = ['rpc_service', 'method', 'transport', 'code'] as const;
    this.#durations = {
      client: new Histogram({
        name: 'chirp_rpc_client_duration_seconds',
        help: 'Calls this process made: from the request leaving to its reply (or error) arriving.',
        labelNames,
        buckets: BUCKETS_S,
        registers: [this.registry],
      }),
      server: new Histogram({
        name: 'chirp_rpc_server_duration_seconds',
        help: 'Calls this process served: the handler, from receiving the request to its reply.',
        labelNames,
        buckets: BUCKETS_S,
        registers: [this.registry],
      }),
    };
    this.#events = new Counter({
      name: 'chirp_events_total',
      help: 'Events published by this process, and delivered to its handlers.',
      labelNames: ['side', 'rpc_service', 'topic', 'transport', 'code'],
      registers: [this.registry],
    });
  }

  call(
    side: 'client' | 'server',
    transport: TransportKind,
    service: string,
    method: string,
    code: string,
    startedAt: number,
  ): void {
    const key = `${side}\u0000${transport}\u0000${service}\u0000${method}\u0000${code}`;
    let observe = this.#children.get(key);
    if (observe === undefined) {
      const child = this.#durations[side].labels(service, method, transport, code);
      observe = (seconds) => child.observe(seconds);
      this.#children.set(key, observe);
    }
    observe((performance.now() - startedAt) / 1000);
  }

  event(side: 'publish' | 'deliver', transport: TransportKind, service: string, topic: string, code: string): void {
    const key = `${side}\u0000${transport}\u0000${service}\u0000${topic}\u0000${code}`;
    let count = this.#eventChildren.get(key);
    if (count === undefined) {
      const child = this.#events.labels(side, service, topic, transport, code);
      count = () => child.inc();
      this.#eventChildren.set(key, count);
    }
    count();
  }

  /**
   * Figures a service keeps itself, read at every scrape as `chirp_<name>`: a name ending in
   * `_total` is a counter, anything else a gauge.
   */
  addFigures(read: () => Record<string, number>): void {
    for (const name of Object.keys(read())) {
      const help = `${name.replaceAll('_', ' ')} (kept by the service)`;
      if (this.registry.getSingleMetric(`chirp_${name}`) !== undefined) continue;
      if (name.endsWith('_total')) {
        new Counter({
          name: `chirp_${name}`,
          help,
          registers: [this.registry],
          collect() {
            this.reset();
            this.inc(read()[name] ?? 0);
          },
        });
      } else {
        new Gauge({
          name: `chirp_${name}`,
          help,
          registers: [this.registry],
          collect() {
            this.set(read()[name] ?? 0);
          },
        });
      }
    }
  }

  /** The text a Prometheus scrape gets. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
