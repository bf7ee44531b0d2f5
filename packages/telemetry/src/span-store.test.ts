import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { MAX_SPANS_PER_TRACE, SpanStore } from './span-store.js';

/** A tracer whose every span ends up in `store`, as a process's does. */
function tracerInto(store: SpanStore) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'posts' }),
    spanProcessors: [store],
  });
  return provider.getTracer('test');
}

describe('the embedded span store', () => {
  it('gives back the spans of the traces asked for, as records, in the order they ended', () => {
    const store = new SpanStore();
    const tracer = tracerInto(store);
    const root = tracer.startSpan('posts/create', { attributes: { 'rpc.method': 'create', 'chirp.request.size': 80 } });
    const child = tracer.startSpan('INSERT posts', {}, trace.setSpan(ROOT_CONTEXT, root));
    const other = tracer.startSpan('follows/list');
    child.end();
    root.end();
    other.end();

    const traceId = root.spanContext().traceId;
    const spans = store.spansOf([traceId]);
    expect(spans.map((span) => span.name)).toEqual(['INSERT posts', 'posts/create']);
    expect(spans[0]).toMatchObject({
      traceId,
      parentId: root.spanContext().spanId,
      process: 'posts',
      kind: 'internal',
    });
    expect(spans[1]!.parentId).toBeUndefined();
    expect(spans[1]!.attributes).toEqual({ 'rpc.method': 'create', 'chirp.request.size': 80 });
    expect(store.spansOf([other.spanContext().traceId])).toHaveLength(1);
    expect(store.spansOf(['0'.repeat(32)])).toEqual([]);
  });

  it('keeps the newest spans when more end than it holds, dropping the oldest', () => {
    const store = new SpanStore();
    const tracer = tracerInto(store);
    const ids: string[] = [];
    const padding = 'x'.repeat(200); // about 400 bytes a record: 40,000 of them are twice what the store holds
    for (let i = 0; i < 40_000; i++) {
      const span = tracer.startSpan(`call ${i}`, { attributes: { padding } });
      span.end();
      ids.push(span.spanContext().traceId);
    }
    expect(store.spansOf([ids[0]!])).toEqual([]);
    expect(store.spansOf([ids.at(-1)!]).map((span) => span.name)).toEqual(['call 39999']);
    const kept = store.spansOf(ids).map((span) => Number(span.name.split(' ')[1]));
    expect(kept.length).toBeGreaterThan(5_000);
    expect(kept.at(-1)).toBe(39_999);
    expect(kept).toEqual(kept.slice().sort((a, b) => a - b)); // oldest first, none out of order
    expect(kept[0]).toBe(40_000 - kept.length); // what is kept is the newest, with no gap
  });

  it('keeps at most MAX_SPANS_PER_TRACE spans of one trace, and the other traces all theirs', () => {
    const store = new SpanStore();
    const tracer = tracerInto(store);
    const fanOut = tracer.startSpan('publish post.created');
    const parent = trace.setSpan(ROOT_CONTEXT, fanOut);
    for (let i = 0; i < MAX_SPANS_PER_TRACE + 100; i++) tracer.startSpan(`push ${i}`, {}, parent).end();
    fanOut.end();
    const other = tracer.startSpan('auth/verify');
    other.end();

    const kept = store.spansOf([fanOut.spanContext().traceId]);
    expect(kept).toHaveLength(MAX_SPANS_PER_TRACE);
    expect(kept.at(-1)!.name).toBe(`push ${MAX_SPANS_PER_TRACE - 1}`);
    expect(store.spansOf([other.spanContext().traceId])).toHaveLength(1);
  });
});
