/**
 * Telemetry for one process, set up once, before anything else runs (the runtime does it for
 * every service, instrumentation.ts for the web app). Configured by OpenTelemetry's own
 * environment variables:
 *
 *   OTEL_SDK_DISABLED=true          no spans, no per-call metrics (process metrics stay)
 *   OTEL_SERVICE_NAME               service.name of the spans (default: the Chirp service's name)
 *   OTEL_RESOURCE_ATTRIBUTES        more resource attributes, e.g. deployment.environment=demo
 *   OTEL_TRACES_SAMPLER(_ARG)       which traces are recorded (default parentbased_always_on)
 *   OTEL_EXPORTER_OTLP_ENDPOINT     export spans over OTLP/HTTP (JSON) to <endpoint>/v1/traces,
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  or to exactly this URL; OTEL_BSP_* tune the batching,
 *                                   OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION the requests (otlp-export.ts)
 *
 * Whatever the exporter, recorded spans are also kept in memory (span-store.ts) for the
 * Transports page. The transports' own spans are made by a tracer written for them (call-tracer.ts),
 * the rest by the SDK's. Registered globally (tracer provider, context manager, W3C propagator, the
 * transport's call observer), so the transports and Next.js find it without being handed anything.
 * A service's handlers hand their trace on themselves (@chirp/transport's scoped-context.ts); the
 * web app asks for AsyncLocalStorage (`asyncContext`).
 */
import {
  context,
  diag,
  propagation,
  trace,
  DiagLogLevel,
  SamplingDecision,
  type Context,
  type DiagLogger,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ScopedContextManager, TRANSPORT_TRACER, followParentSampling, observeCalls } from '@chirp/transport';
import { CallTracer } from './call-tracer.js';
import { Metrics } from './metrics.js';
import { OtlpExport, keyValues } from './otlp-export.js';
import { SpanStore } from './span-store.js';

export interface Telemetry {
  /** False with OTEL_SDK_DISABLED=true: nothing is traced. */
  readonly tracing: boolean;
  /** Where spans are exported to, if anywhere (for a log line). */
  readonly exportsTo: string | undefined;
  readonly spans: SpanStore;
  readonly metrics: Metrics;
  /** Export what is still batched (a process that stops calls this last). */
  flush(): Promise<void>;
  /**
   * Export what is batched, then undo every registration, as if never started (the benchmark's
   * load generator measures with and without telemetry in one process).
   */
  stop(): Promise<void>;
}

export interface TelemetryOptions {
  /** The process's name: auth, posts, …, web. */
  service: string;
  env: Record<string, string | undefined>;
  /** Where OpenTelemetry's own complaints go (an exporter that cannot reach its collector). */
  logger?: { warn(obj: object, msg?: string): void };
  /**
   * True: what runs after an `await` still finds the trace it was started in (OpenTelemetry's
   * AsyncLocalStorage context manager), for code that does not hand contexts on — the web app's
   * routes and Next.js. Default false: a context is active only while `context.with()` runs
   * synchronously (ScopedContextManager), and Node's async hooks stay off.
   */
  asyncContext?: boolean;
}

const SLOT = Symbol.for('chirp.telemetry');
const holder = globalThis as typeof globalThis & { [SLOT]?: Telemetry };

/**
 * Set up this process's telemetry, or return what an earlier call set up: one per process,
 * since the registrations are global (several services in one test process share it).
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  holder[SLOT] ??= setUp(options);
  return holder[SLOT];
}

/** This process's telemetry, if started. */
export function telemetry(): Telemetry | undefined {
  return holder[SLOT];
}

/**
 * One Metrics per service name for the life of the process, kept across stop() and a later start:
 * prom-client's default metrics watch GC and the event loop with observers that cannot be removed,
 * so a process that turns telemetry off and on (the benchmark's load generator, once per measured
 * run) would otherwise add one more set of watchers each time, every GC paying for all of them.
 */
const METRICS = Symbol.for('chirp.telemetry.metrics');
const kept = globalThis as typeof globalThis & { [METRICS]?: Map<string, Metrics> };

function metricsOf(service: string): Metrics {
  const all = (kept[METRICS] ??= new Map());
  let metrics = all.get(service);
  if (metrics === undefined) all.set(service, (metrics = new Metrics(service)));
  return metrics;
}

/**
 * One span store for the life of the process too, emptied at stop(): a store is 8 MiB outside the
 * heap, and V8 counts such memory as given back only long after it is. A process that turned
 * telemetry on and off 30 times (a store each time) then ran its garbage collector for "external
 * memory pressure" over and over: 2.6 µs more of GC per small TCP call (the load generator at 64
 * in flight, profiled), a fifth of its throughput.
 */
const SPANS = Symbol.for('chirp.telemetry.spans');
const keptSpans = globalThis as typeof globalThis & { [SPANS]?: SpanStore };

function setUp({ service, env, logger, asyncContext = false }: TelemetryOptions): Telemetry {
  const metrics = metricsOf(service);
  const spans = (keptSpans[SPANS] ??= new SpanStore());
  const tracing = env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true';
  const unregister = (): void => {
    observeCalls(undefined);
    followParentSampling(false);
    delete holder[SLOT];
  };
  if (!tracing) {
    return {
      tracing,
      exportsTo: undefined,
      spans,
      metrics,
      flush: () => Promise.resolve(),
      stop: () => Promise.resolve(unregister()),
    };
  }
  if (logger !== undefined) diag.setLogger(diagTo(logger), DiagLogLevel.WARN);
  const exportsTo = otlpTracesUrl(env);
  const processors: SpanProcessor[] = [spans];
  if (exportsTo !== undefined) processors.push(new OtlpExport(exportsTo, env));
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': service }))
    .merge(resourceFromAttributes(resourceAttributesFromEnv(env)));
  const sampler = samplerFromEnv(env);
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors, sampler });
  trace.setGlobalTracerProvider(withCallTracer(provider, new CallTracer(sampler, resource, processors)));
  const unpropagate = asyncContext ? propagateContext() : scopeContext();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  observeCalls(metrics);
  followParentSampling(sampler instanceof ParentBasedSampler);
  return {
    tracing,
    exportsTo,
    spans,
    metrics,
    flush: () => provider.forceFlush(),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      unpropagate();
      propagation.disable();
      diag.disable();
      unregister();
    },
  };
}

/** `provider`, but with the CallTracer as the transports' tracer (call-tracer.ts). */
function withCallTracer(provider: TracerProvider, calls: CallTracer): TracerProvider {
  return {
    getTracer: (name, version, options) =>
      name === TRANSPORT_TRACER ? calls : provider.getTracer(name, version, options),
  };
}

/**
 * OpenTelemetry's AsyncLocalStorage context manager, registered for the whole process, so that what
 * code does after an `await` (its calls, log lines) still finds its trace without being handed it:
 * the web app's (`asyncContext`), whose Next.js runs on AsyncLocalStorage of its own anyway.
 * Returns how to unregister it. On its own it is the benchmark's "AsyncLocalStorage only" mode:
 * Node's async hooks, once on, run for every promise in the process, traced or not.
 */
export function propagateContext(): () => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return () => context.disable();
}

/** The services' context manager (ScopedContextManager), registered for the whole process; returns how to unregister it. */
function scopeContext(): () => void {
  context.setGlobalContextManager(new ScopedContextManager());
  return () => context.disable();
}

/**
 * The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (the SDK would read them from
 * process.env itself; they are read here from the env this process was configured with).
 */
export function samplerFromEnv(env: Record<string, string | undefined>): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on';
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  const root: Record<string, () => Sampler> = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatio(ratio),
  };
  const base = name.replace(/^parentbased_/, '');
  const make = root[base];
  if (make === undefined) throw new Error(`OTEL_TRACES_SAMPLER=${name} is not one of ${SAMPLERS.join(', ')}`);
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root: make() }) : make();
}

/**
 * OTEL_TRACES_SAMPLER=traceidratio: a trace is recorded when the last 52 bits of its id, read as a
 * fraction, fall below the ratio (trace ids are random; OpenTelemetry's newer rule reads the last
 * 56). The SDK's TraceIdRatioBasedSampler checks the id with a regular expression and reads it a
 * character at a time, which with 1 call in 100 traced was an eighth of what tracing cost a call;
 * the ids a sampler is given were made here or checked on arrival (tracing.ts) already.
 */
export class TraceIdRatio implements Sampler {
  readonly #ratio: number;
  readonly #below: number;

  constructor(ratio: number) {
    this.#ratio = ratio;
    this.#below = ratio * 2 ** 52;
  }

  shouldSample(_context: Context, traceId: string): SamplingResult {
    const recorded = parseInt(traceId.slice(-13), 16) < this.#below; // NaN (not hex) is never below
    return { decision: recorded ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `TraceIdRatio{${this.#ratio}}`;
  }
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/** OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (`key=value,…`, values percent-encoded), the latter winning less. */
function resourceAttributesFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const attributes = keyValues(env.OTEL_RESOURCE_ATTRIBUTES);
  const name = env.OTEL_SERVICE_NAME?.trim();
  if (name) attributes['service.name'] = name;
  return attributes;
}

/** The OTLP/HTTP traces URL the environment asks for, as the specification builds it. */
export function otlpTracesUrl(env: Record<string, string | undefined>): string | undefined {
  const exact = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (exact) return exact;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** OpenTelemetry's diagnostics as the process's own warnings. */
function diagTo(logger: { warn(obj: object, msg?: string): void }): DiagLogger {
  const warn = (message: string, ...args: unknown[]) =>
    logger.warn({ detail: args.map(String).join(' ') }, `opentelemetry: ${message}`);
  const ignore = () => {};
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}
