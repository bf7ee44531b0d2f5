/**
 * Where a social request's time goes, from the traces of the requests the load generator
 * sampled (load/trace-sampler.ts): each trace's spans (from the run's collector, plus the load
 * generator's own, straight to the services) are split by @chirp/telemetry's splitOf — the edge
 * (the web app's own work; the load generator's, straight to the services), each hop's transport
 * time, the handlers' own time, the database — and the medians are taken per request kind.
 */
import { splitOf, type Split, type SpanRecord } from '@chirp/telemetry';
import { spreadOf } from '../load/run.js';
import type { SampledRequest } from '../load/trace-sampler.js';
import type { Collector } from '../process/collector.js';
import type { KindBreakdown } from '../results/social.js';

/** How long to wait for the stack's last spans: their batches leave every OTEL_BSP_SCHEDULE_DELAY. */
export const SPAN_EXPORT_DELAY_MS = 500;

/** Ask for at most this many traces' spans per IPC message. */
const CHUNK = 500;

export async function breakdownOf(collector: Collector, sampled: SampledRequest[]): Promise<KindBreakdown[]> {
  await new Promise((resolve) => setTimeout(resolve, SPAN_EXPORT_DELAY_MS * 3));
  const byTrace = new Map<string, SpanRecord[]>();
  for (let i = 0; i < sampled.length; i += CHUNK) {
    const ids = sampled.slice(i, i + CHUNK).map((s) => s.traceId);
    for (const span of (await collector.spansOf(ids)).spans) {
      byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
    }
  }
  const splits = new Map<string, Split[]>();
  for (const request of sampled) {
    const spans = [...(byTrace.get(request.traceId) ?? []), ...request.spans];
    const root = rootOf(spans);
    if (root === undefined) continue;
    splits.set(request.kind, [...(splits.get(request.kind) ?? []), splitOf(spans, root)]);
  }
  return [...splits].map(([kind, list]) => summarise(kind, list)).sort((a, b) => a.kind.localeCompare(b.kind));
}

/** The span no other span of the trace is the parent of: the request's own, wherever it started. */
function rootOf(spans: SpanRecord[]): SpanRecord | undefined {
  const ids = new Set(spans.map((span) => span.spanId));
  const roots = spans.filter((span) => span.parentId === undefined || !ids.has(span.parentId));
  return roots.length === 1 ? roots[0] : undefined; // a trace in pieces cannot be split honestly
}

function summarise(kind: string, splits: Split[]): KindBreakdown {
  const median = (key: keyof Split) => spreadOf(splits.map((s) => s[key])).median;
  const sum = (key: keyof Split) => splits.reduce((total, s) => total + s[key], 0);
  const hops = new Map<number, number>();
  for (const s of splits) hops.set(s.hops, (hops.get(s.hops) ?? 0) + 1);
  return {
    kind,
    traces: splits.length,
    hops: [...hops].sort((a, b) => b[1] - a[1])[0]![0],
    totalMs: median('totalMs'),
    edgeMs: median('edgeMs'),
    transportMs: median('transportMs'),
    handlerMs: median('handlerMs'),
    databaseMs: median('databaseMs'),
    transportShare: sum('transportMs') / Math.max(1e-9, sum('totalMs')),
    unmatchedCalls: sum('unmatchedCalls'),
  };
}
