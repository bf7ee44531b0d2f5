/**
 * The embedded trace store: every span this process finishes is kept in memory, newest last, so
 * the Transports page can show a viewer the whole tree of their own actions without any tracing
 * server. Each process keeps its own spans and serves them on its admin port (`GET /traces?ids=…`,
 * admin.ts); the web app gathers them.
 *
 * A span is kept as the JSON of its SpanRecord, in bytes outside the JavaScript heap: two
 * generations of GENERATION_BYTES each (about 12,000 spans), the older dropped whole when the
 * newer is full. Kept as objects, a span lives for seconds, so the garbage collector copies it out
 * of the young generation and later marks it again and again in the old one, and that cost follows
 * the number of objects kept, not their use: with one call in 100 traced, a client and a server
 * call's tracing alone in a loop, keeping records as objects cost 0.24 µs a call, more than making
 * the spans did (0.17); as bytes, too little to tell from noise. Reading is a scan of both
 * generations (a few milliseconds), done only when someone opens the Transports page.
 *
 * A trace keeps at most MAX_SPANS_PER_TRACE spans per generation (later ones are not kept: a post
 * to 10,000 followers is 10,000 pushes, and would push every other trace out).
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export const MAX_SPANS_PER_TRACE = 500;
const GENERATION_BYTES = 4 * 1024 * 1024;

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

/** Each kept span: its length (4 bytes, this header included), its trace id (32 bytes, hex), its record's JSON. */
const LENGTH_BYTES = 4;
const ID_BYTES = 32;
const HEADER_BYTES = LENGTH_BYTES + ID_BYTES;

class Generation {
  readonly bytes = Buffer.allocUnsafe(GENERATION_BYTES);
  used = 0;
  /**
   * Spans kept per trace, by the trace id's last four hex digits. Two traces can share a slot, so
   * the cap can come early for a trace, never late; no per-trace object on the heap either.
   */
  readonly perTrace = new Uint16Array(1 << 16);

  clear(): void {
    this.used = 0;
    this.perTrace.fill(0);
  }
}

export class SpanStore implements SpanProcessor {
  #older = new Generation();
  #newer = new Generation();

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const { traceId } = span.spanContext();
    const slot = parseInt(traceId.slice(-4), 16);
    if (this.#newer.perTrace[slot]! >= MAX_SPANS_PER_TRACE) return;
    const json = JSON.stringify(recordOf(span));
    // A UTF-16 unit takes at most 3 bytes in UTF-8: room for that is room for the record.
    if (HEADER_BYTES + 3 * json.length > GENERATION_BYTES) return; // no span is that big; never kept
    if (this.#newer.used + HEADER_BYTES + 3 * json.length > GENERATION_BYTES) {
      [this.#older, this.#newer] = [this.#newer, this.#older];
      this.#newer.clear();
    }
    const generation = this.#newer;
    generation.perTrace[slot]!++;
    const at = generation.used;
    generation.bytes.write(traceId, at + LENGTH_BYTES, ID_BYTES, 'latin1');
    const length = HEADER_BYTES + generation.bytes.write(json, at + HEADER_BYTES, 'utf8');
    generation.bytes.writeUInt32LE(length, at);
    generation.used += length;
  }

  /** The spans kept for these traces, in the order they ended. */
  spansOf(traceIds: Iterable<string>): SpanRecord[] {
    const wanted = new Set(traceIds);
    const out: SpanRecord[] = [];
    for (const { bytes, used } of [this.#older, this.#newer]) {
      for (let at = 0, end = 0; at < used; at = end) {
        end = at + bytes.readUInt32LE(at);
        if (!wanted.has(bytes.toString('latin1', at + LENGTH_BYTES, at + HEADER_BYTES))) continue;
        out.push(JSON.parse(bytes.toString('utf8', at + HEADER_BYTES, end)) as SpanRecord);
      }
    }
    return out;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.#older.clear();
    this.#newer.clear();
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
