/**
 * The whole tree of a viewer's actions, for the Transports page: this process's own spans (the
 * web request, its calls) and those every service kept of the same traces, asked of each
 * service's admin port (`GET /traces?ids=…`, @chirp/telemetry's admin.ts). A service that does not
 * answer in time is named, and its part of the tree is missing.
 *
 * Where each service's admin port is: <SERVICE>_ADMIN_ADDR (host:port, comma-separated for
 * replicas), default 127.0.0.1 and the service's port + 1000 (auth 5101 … notify 5104).
 */
import 'server-only';
import { DEFAULT_PORTS } from '@chirp/contracts';
import { isDatabaseSpan, splitOf, telemetry, type Split, type SpanRecord } from '@chirp/telemetry';
import { processEnv } from './config.js';

/** The processes whose spans the page gathers, besides its own. */
export const TRACED_SERVICES = ['auth', 'posts', 'follows', 'notify'] as const;

const ASK_TIMEOUT_MS = 1_000;

export interface GatheredSpans {
  spans: SpanRecord[];
  /** Services that could not be asked (down, or their admin port out of reach). */
  unreachable: string[];
}

/** Every span kept of `traceIds`, here and in each service, each span once. */
export async function gatherSpans(traceIds: string[]): Promise<GatheredSpans> {
  const own = telemetry()?.spans.spansOf(traceIds) ?? [];
  if (traceIds.length === 0) return { spans: own, unreachable: [] };
  const sources = traceSourcesFromEnv(processEnv());
  const unreachable: string[] = [];
  const asked = await Promise.all(
    Object.entries(sources).flatMap(([service, addresses]) =>
      addresses.map(async (address) => {
        try {
          const response = await fetch(`http://${address}/traces?ids=${traceIds.join(',')}`, {
            signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
          });
          if (!response.ok) throw new Error(`status ${response.status}`);
          return ((await response.json()) as { spans: SpanRecord[] }).spans;
        } catch {
          if (!unreachable.includes(service)) unreachable.push(service);
          return [];
        }
      }),
    ),
  );
  const byId = new Map<string, SpanRecord>();
  for (const span of [...own, ...asked.flat()]) byId.set(span.spanId, span);
  return { spans: [...byId.values()], unreachable };
}

export function traceSourcesFromEnv(env: Record<string, string | undefined>): Record<string, string[]> {
  const sources: Record<string, string[]> = {};
  for (const service of TRACED_SERVICES) {
    const configured = env[`${service.toUpperCase()}_ADMIN_ADDR`];
    sources[service] = configured
      ? configured
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
      : [`127.0.0.1:${(DEFAULT_PORTS[service] ?? 0) + 1000}`];
  }
  return sources;
}

/** One line of the drawn tree. */
export interface TreeRow {
  span: SpanRecord;
  depth: number;
  /** Milliseconds after the trace's first span started. */
  offsetMs: number;
  /** For a call: the caller's time minus the handler's (the hop itself). */
  hopMs?: number;
  /** For a handler or an event's delivery: the time of the queries it ran itself. */
  dbMs?: number;
}

export interface ActionTree {
  rows: TreeRow[];
  /** From the first span's start to the last span's end (events included). */
  spanMs: number;
  /** The request's own split (without what its events did afterwards). */
  split: Split | undefined;
}

/**
 * The spans of one trace, parents before children, siblings by start time. Next.js's inner spans
 * (rendering, route loading) are folded into the request span above them: their children hang
 * from it instead.
 */
export function treeOf(spans: readonly SpanRecord[], traceId: string): ActionTree {
  const mine = spans.filter((span) => span.traceId === traceId);
  if (mine.length === 0) return { rows: [], spanMs: 0, split: undefined };
  const byId = new Map(mine.map((span) => [span.spanId, span]));
  const isRoot = (span: SpanRecord) => span.parentId === undefined || !byId.has(span.parentId);
  const folded = (span: SpanRecord) => span.attributes['next.span_type'] !== undefined && !isRoot(span);
  /** The nearest ancestor that is drawn. */
  const shownParent = (span: SpanRecord): SpanRecord | undefined => {
    let parent = span.parentId === undefined ? undefined : byId.get(span.parentId);
    while (parent !== undefined && folded(parent))
      parent = parent.parentId === undefined ? undefined : byId.get(parent.parentId);
    return parent;
  };
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const span of mine) {
    if (folded(span)) continue;
    const parent = shownParent(span);
    if (parent === undefined) roots.push(span);
    else children.set(parent.spanId, [...(children.get(parent.spanId) ?? []), span]);
  }
  const byStart = (a: SpanRecord, b: SpanRecord) => a.startMs - b.startMs;
  const start = Math.min(...mine.map((span) => span.startMs));
  const end = Math.max(...mine.map((span) => span.startMs + span.durationMs));
  const rows: TreeRow[] = [];
  const visit = (span: SpanRecord, depth: number) => {
    const kids = (children.get(span.spanId) ?? []).sort(byStart);
    const row: TreeRow = { span, depth, offsetMs: span.startMs - start };
    const handler = kids.find((kid) => kid.kind === 'server');
    if (span.kind === 'client' && handler !== undefined) row.hopMs = Math.max(0, span.durationMs - handler.durationMs);
    if (span.kind === 'server' || span.kind === 'consumer') {
      row.dbMs = kids.filter(isDatabaseSpan).reduce((sum, kid) => sum + kid.durationMs, 0);
    }
    rows.push(row);
    for (const kid of kids) visit(kid, depth + 1);
  };
  roots.sort(byStart);
  for (const root of roots) visit(root, 0);
  return { rows, spanMs: end - start, split: splitOf(mine, roots[0]!) };
}
