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
 * through its observer hook (observer.ts in @chirp/transport), on every call: the call histograms
 * are kept by hand (CallHistogram, below) so that costs a few string comparisons and a bucket search.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { CallObserver, TransportKind } from '@chirp/transport';

/** From 100 µs (a TCP call on loopback) to 5 s (the default deadline). */
const BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const RPC_LABELS = ['rpc_service', 'method', 'transport', 'code'] as const;

export class Metrics implements CallObserver {
  readonly registry = new Registry();
  readonly #durations: Record<'client' | 'server', CallHistogram>;
  readonly #events: Counter;
  readonly #eventChildren = new Map<string, () => void>();

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.#durations = {
      client: new CallHistogram(
        'chirp_rpc_client_duration_seconds',
        'Calls this process made: from the request leaving to its reply (or error) arriving.',
      ),
      server: new CallHistogram(
        'chirp_rpc_server_duration_seconds',
        'Calls this process served: the handler, from receiving the request to its reply.',
      ),
    };
    this.registry.registerMetric(this.#durations.client as unknown as Metric);
    this.registry.registerMetric(this.#durations.server as unknown as Metric);
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
    this.#durations[side].observe(service, method, transport, code, (performance.now() - startedAt) / 1000);
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

/**
 * A histogram of call durations kept by hand and rendered through prom-client: prom-client's own
 * Histogram checks and hashes the label set on every observe(), which on a busy TCP server cost
 * more than the call's own dispatch. Here a call costs four string comparisons (or, when its
 * labels differ from the last call's, one Map lookup) and a bucket search; the text format
 * (buckets, _sum, _count, cumulative) is prom-client's, at scrape time.
 */
class CallHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /** The series observed last: a busy path observes the same one call after call, found without building a key. */
  #last: Series | undefined;

  observe(service: string, method: string, transport: string, code: string, seconds: number): void {
    const last = this.#last;
    const series =
      last !== undefined &&
      last.labels[0] === service &&
      last.labels[1] === method &&
      last.labels[2] === transport &&
      last.labels[3] === code
        ? last
        : this.#seriesOf(service, method, transport, code);
    this.#last = series;
    let bucket = 0;
    while (bucket < BUCKETS_S.length && seconds > BUCKETS_S[bucket]!) bucket++;
    if (bucket < BUCKETS_S.length) series.counts[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  #seriesOf(service: string, method: string, transport: string, code: string): Series {
    const key = `${service}\u0000${method}\u0000${transport}\u0000${code}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = {
        labels: [service, method, transport, code],
        counts: new Float64Array(BUCKETS_S.length),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    return series;
  }

  /**
   * What prom-client's registry renders (its `get()` contract; the type names are strings at run
   * time, whatever its typings say): cumulative buckets, +Inf, sum and count per label set.
   */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: RenderedValue[] }> {
    const values: RenderedValue[] = [];
    for (const series of this.#series.values()) {
      const labels = Object.fromEntries(RPC_LABELS.map((name, i) => [name, series.labels[i]!]));
      let cumulative = 0;
      BUCKETS_S.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: series.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

interface RenderedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  labels: string[];
  counts: Float64Array;
  sum: number;
  count: number;
}
