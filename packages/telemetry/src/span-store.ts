/**
 * The embedded trace store: every span this process finishes is kept in memory, grouped by
 * trace, for the most recent traces only, so the Transports page can show a viewer the whole
 * tree of their own actions without any tracing server. Each process keeps its own spans and
 * serves them on its admin port (`GET /traces?ids=…`, admin.ts); the web app gathers them.
 *
 * Bounded on both axes: MAX_TRACES traces (the oldest trace goes first) and MAX_SPANS_PER_TRACE
 * spans per trace (later ones are counted, not kept: a post to 10,000 followers is 10,000
 * pushes). A span is kept as its SpanRecord, made when it ends: a few hundred bytes, where the
 * SDK's span object (its resource, scope, events, links, clocks) would be several times that.
 * What is kept lives for seconds, so it is promoted to the old generation, and the size of what
 * is promoted is what the garbage collector's cost follows: keeping the SDK's spans made one
 * traced call in 100 cost a TCP call about 20% of its throughput, keeping records about half that.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export const MAX_TRACES = 2_000;
export const MAX_SPANS_PER_TRACE = 500;

/** One finished span as JSON: what crosses an admin port and what the Transports page draws. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** Absent for the root of a trace (or a span whose parent lives in a process that is not asked). */
  parentId?: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** The process that made it: its OpenTelemetry service.name. */
  process: string;
  /** Epoch milliseconds, fractional. */
  startMs: number;
  durationMs: number;
  error: boolean;
  attributes: Record<string, string | number | boolean>;
}

const KINDS: SpanRecord['kind'][] = ['internal', 'server', 'client', 'producer', 'consumer'];

interface Kept {
  spans: SpanRecord[];
  dropped: number;
}

export class SpanStore implements SpanProcessor {
  readonly #traces = new Map<string, Kept>();

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    let kept = this.#traces.get(traceId);
    if (kept === undefined) {
      kept = { spans: [], dropped: 0 };
      this.#traces.set(traceId, kept);
      if (this.#traces.size > MAX_TRACES) this.#traces.delete(this.#traces.keys().next().value!);
    }
    if (kept.spans.length < MAX_SPANS_PER_TRACE) kept.spans.push(recordOf(span));
    else kept.dropped++;
  }

  /** The spans kept for these traces, oldest first within each. */
  spansOf(traceIds: Iterable<string>): SpanRecord[] {
    const out: SpanRecord[] = [];
    for (const traceId of traceIds) out.push(...(this.#traces.get(traceId)?.spans ?? []));
    return out;
  }

  /** How many traces are kept, for /metrics. */
  get size(): number {
    return this.#traces.size;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.#traces.clear();
    return Promise.resolve();
  }
}

function recordOf(span: ReadableSpan): SpanRecord {
  const { traceId, spanId } = span.spanContext();
  const record: SpanRecord = {
    traceId,
    spanId,
    name: span.name,
    kind: KINDS[span.kind] ?? 'internal',
    process: String(span.resource.attributes['service.name'] ?? 'unknown'),
    startMs: span.startTime[0] * 1e3 + span.startTime[1] / 1e6,
    durationMs: span.duration[0] * 1e3 + span.duration[1] / 1e6,
    error: span.status.code === 2,
    attributes: {},
  };
  const parentId = span.parentSpanContext?.spanId;
  if (parentId !== undefined) record.parentId = parentId;
  for (const [key, value] of Object.entries(span.attributes)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      record.attributes[key] = value;
    }
  }
  return record;
}
