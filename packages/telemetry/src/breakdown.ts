/**
 * Where one request's time went, read from its spans (the same split on the Transports page and
 * in the benchmark report):
 *
 *   edge       the process that took the request (the web app): its own work outside its calls
 *   transport  every hop: the caller's span minus the handler's (encoding, the wire or the
 *              broker, queueing, decoding, and each side's event loop getting round to it)
 *   handler    the services' own work, outside their further calls and their queries
 *   database   the SQL statements (their round trip and the database's work)
 *
 * The request's time runs from its span's start to the end of the last span under it that it
 * waited for. The four add up to it when its calls run one after another, as Chirp's do. Events
 * a request publishes are delivered after its reply, so what hangs under a publish span is left
 * out (it is the event's own story). A call whose handler's span is missing (a process that was
 * not asked for its spans) counts whole as transport, and is flagged.
 */
import type { SpanRecord } from './span-store.js';

export interface Split {
  totalMs: number;
  edgeMs: number;
  transportMs: number;
  handlerMs: number;
  databaseMs: number;
  /** Transport hops: calls made while serving the request, at any depth. */
  hops: number;
  /** Calls whose handler's span was not among the spans given. */
  unmatchedCalls: number;
}

export function isDatabaseSpan(span: SpanRecord): boolean {
  return span.attributes['db.system.name'] !== undefined;
}

export function isCall(span: SpanRecord): boolean {
  return span.attributes['rpc.service'] !== undefined && (span.kind === 'client' || span.kind === 'server');
}

/** The split of `root`'s time over its subtree among `spans`. */
export function splitOf(spans: readonly SpanRecord[], root: SpanRecord): Split {
  const children = childrenById(spans);
  const split: Split = {
    totalMs: syncEnd(root, children) - root.startMs,
    edgeMs: 0,
    transportMs: 0,
    handlerMs: 0,
    databaseMs: 0,
    hops: 0,
    unmatchedCalls: 0,
  };

  /** Walks `span`'s subtree inside one process; returns the time its calls and queries took. */
  const inner = (span: SpanRecord): number => {
    let spent = 0;
    for (const child of children.get(span.spanId) ?? []) {
      if (child.kind === 'producer') continue; // an event: delivered after the reply
      if (isDatabaseSpan(child)) {
        split.databaseMs += child.durationMs;
        spent += child.durationMs;
      } else if (isCall(child) && child.kind === 'client') {
        split.hops++;
        spent += child.durationMs;
        const handlers = (children.get(child.spanId) ?? []).filter((s) => isCall(s) && s.kind === 'server');
        if (handlers.length === 0) split.unmatchedCalls++;
        let handled = 0;
        for (const handler of handlers) {
          handled += handler.durationMs;
          split.handlerMs += Math.max(0, handler.durationMs - inner(handler));
        }
        split.transportMs += Math.max(0, child.durationMs - handled);
      } else {
        spent += inner(child); // the process's own nested spans (Next.js's, a retry's)
      }
    }
    return spent;
  };

  split.edgeMs = Math.max(0, split.totalMs - inner(root));
  return split;
}

/**
 * When the request's own work ended: its span's end, or a later end below it (Next.js ends a
 * server action's request span when the response starts, while the page it re-renders still
 * calls services). Events are not waited for.
 */
function syncEnd(span: SpanRecord, children: Map<string, SpanRecord[]>): number {
  let end = span.startMs + span.durationMs;
  for (const child of children.get(span.spanId) ?? []) {
    if (child.kind !== 'producer') end = Math.max(end, syncEnd(child, children));
  }
  return end;
}

/** The spans under each span id, oldest first. */
export function childrenById(spans: readonly SpanRecord[]): Map<string, SpanRecord[]> {
  const children = new Map<string, SpanRecord[]>();
  for (const span of spans) {
    if (span.parentId === undefined) continue;
    const siblings = children.get(span.parentId) ?? [];
    siblings.push(span);
    children.set(span.parentId, siblings);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => a.startMs - b.startMs);
  return children;
}
