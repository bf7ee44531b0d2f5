/**
 * Which requests of a mix are traced, chosen by the load generator: every request carries a W3C
 * traceparent of its own, and one in `every` has the sampled flag set. The stack's processes
 * follow the caller's decision (their sampler is parent-based), so the sampled requests' spans
 * are recorded and exported to the run's collector and the others cost next to nothing; the
 * load generator remembers the sampled ones (trace id, kind, and its own view of each call).
 *
 * Through the web API the traceparent is a header, and the web app's request span is the root
 * of the trace. Straight to the services (no web app), the load generator's own calls are the
 * first hop: it makes their client spans itself (`call`), from the time it saw each call take,
 * so a hop's transport time is still the caller's time minus the handler's.
 */
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT, TraceFlags, trace, type Context } from '@opentelemetry/api';
import type { SpanRecord } from '@chirp/telemetry';
import { newSpanId, newTraceId } from '@chirp/transport';

export interface SampledRequest {
  traceId: string;
  kind: string;
  /** The load generator's spans: a root for the request and, straight to the services, one per call. */
  spans: SpanRecord[];
}

/** One request as the sampler sees it: its trace, and (when sampled) where its calls' spans go. */
export class TracedRequest {
  readonly traceparent: string;
  readonly #sampled: SampledRequest | undefined;
  readonly #rootId: string;
  readonly #traceId: string;
  readonly #startMs = performance.timeOrigin + performance.now();

  constructor(kind: string, sampled: boolean, keep: (request: SampledRequest) => void) {
    this.#traceId = newTraceId();
    this.#rootId = newSpanId();
    this.traceparent = `00-${this.#traceId}-${this.#rootId}-${sampled ? '01' : '00'}`;
    if (sampled) {
      this.#sampled = { traceId: this.#traceId, kind, spans: [] };
      keep(this.#sampled);
    }
  }

  /** Where a service call of this request hangs (straight to the services): a context with its own span id. */
  async call<T>(service: string, method: string, send: (parent: Context) => Promise<T>): Promise<T> {
    const spanId = this.#sampled === undefined ? this.#rootId : newSpanId();
    const flags = this.#sampled === undefined ? TraceFlags.NONE : TraceFlags.SAMPLED;
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: this.#traceId, spanId, traceFlags: flags });
    if (this.#sampled === undefined) return send(parent);
    const startMs = performance.timeOrigin + performance.now();
    try {
      return await send(parent);
    } finally {
      this.#sampled.spans.push({
        traceId: this.#traceId,
        spanId,
        parentId: this.#rootId,
        name: `${service}/${method}`,
        kind: 'client',
        process: 'bench',
        startMs,
        durationMs: performance.timeOrigin + performance.now() - startMs,
        error: false,
        attributes: { 'rpc.service': service, 'rpc.method': method },
      });
    }
  }

  /**
   * The request is answered. Straight to the services, its root span (the load generator's view
   * of the whole request, above its calls' spans); through the web API the web app's span is the root.
   */
  done(): void {
    if (this.#sampled === undefined || this.#sampled.spans.length === 0) return;
    this.#sampled.spans.push({
      traceId: this.#traceId,
      spanId: this.#rootId,
      name: `bench ${this.#sampled.kind}`,
      kind: 'internal',
      process: 'bench',
      startMs: this.#startMs,
      durationMs: performance.timeOrigin + performance.now() - this.#startMs,
      error: false,
      attributes: {},
    });
  }
}

export class TraceSampler {
  readonly sampled: SampledRequest[] = [];
  readonly #every: number;
  #count = 0;

  /** One request in `every` is traced; 0: none. */
  constructor(every: number) {
    this.#every = every;
  }

  next(kind: string): TracedRequest {
    const sampled = this.#every > 0 && this.#count++ % this.#every === 0;
    return new TracedRequest(kind, sampled, (request) => this.sampled.push(request));
  }

  /** Forget what was sampled so far (between phases). */
  clear(): void {
    this.sampled.length = 0;
  }
}
