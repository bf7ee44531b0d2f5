/**
 * tracing.ts without an SDK (a library user, a test, OTEL_SDK_DISABLED=true), where it makes
 * spans itself instead of going through the API's no-op tracer: the trace context that travels
 * must be what the API would have produced. And an SDK registered (or removed) while the process
 * runs is picked up by the next call. (With an SDK, conformance.test.ts checks every transport.)
 */
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Context } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { newSpanId, newTraceId } from './ids.js';
import { ClientCall, ServerCall, type TraceCarrier } from './tracing.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function withSpanContext(traceId: string, spanId: string, traceFlags = TraceFlags.NONE): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags });
}

function served(carrier: TraceCarrier | undefined): ServerCall {
  return new ServerCall({ transport: 'udp', service: 's', method: 'm', trace: carrier });
}

afterEach(() => trace.disable());

describe('tracing without an SDK', () => {
  it('starts a fresh, unsampled trace for a call made outside any', () => {
    const carriers = [1, 2, 3].map(() => new ClientCall('udp', 's', 'm', undefined).carrier);
    for (const { traceparent } of carriers) {
      const [, traceId, spanId, flags] = TRACEPARENT.exec(traceparent!)!;
      expect(traceId).not.toBe('0'.repeat(32));
      expect(spanId).not.toBe('0'.repeat(16));
      expect(flags).toBe('00');
    }
    expect(new Set(carriers.map((c) => c.traceparent)).size).toBe(3);
  });

  it("sends its parent's trace context as the API's no-op tracer would, and a fresh one for an invalid parent", () => {
    const parents = [
      withSpanContext(newTraceId(), newSpanId(), TraceFlags.SAMPLED),
      withSpanContext(newTraceId(), newSpanId()),
      withSpanContext('0'.repeat(32), newSpanId()),
      withSpanContext('NOT HEX'.padEnd(32, '!'), newSpanId()),
      ROOT_CONTEXT,
    ];
    const noop = trace.getTracer('reference');
    for (const parent of parents) {
      const expected = noop.startSpan('x', { kind: SpanKind.CLIENT }, parent).spanContext();
      const [, traceId, spanId, flags] = TRACEPARENT.exec(
        new ClientCall('udp', 's', 'm', parent).carrier.traceparent!,
      )!;
      if (expected.traceId === '0'.repeat(32)) {
        expect(traceId).not.toBe(expected.traceId); // a fresh trace instead
      } else {
        expect([traceId, spanId, parseInt(flags!, 16)]).toEqual([
          expected.traceId,
          expected.spanId,
          expected.traceFlags,
        ]);
      }
    }
  });

  it('serves a call in the trace it came with, or in a new one when its traceparent is missing or malformed', () => {
    const traceId = newTraceId();
    const spanId = newSpanId();
    const call = served({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'vendor=1' });
    expect(call.traceId).toBe(traceId);
    const context = trace.getSpanContext(call.context)!;
    expect(context).toMatchObject({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(context.traceState?.get('vendor')).toBe('1');
    expect(trace.getSpan(call.context)!.isRecording()).toBe(false);

    const fresh = [undefined, {}, { traceparent: 'garbage' }, { traceparent: `00-${'0'.repeat(32)}-${spanId}-01` }];
    const ids = fresh.map((carrier) => served(carrier).traceId);
    for (const id of ids) expect(id).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('records spans once an SDK is registered, and stops when it is removed', () => {
    expect(trace.getSpan(served(undefined).context)?.isRecording() ?? false).toBe(false);
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const call = served({ traceparent: `00-${newTraceId()}-${newSpanId()}-01` });
    call.end('OK');
    new ClientCall('udp', 's', 'm', call.context).fail(new Error('x')).catch(() => {});
    expect(exporter.getFinishedSpans().map((span) => [span.name, span.kind])).toEqual([
      ['s/m', SpanKind.SERVER],
      ['s/m', SpanKind.CLIENT],
    ]);
    trace.disable();
    served({ traceparent: `00-${newTraceId()}-${newSpanId()}-01` }).end('OK');
    expect(exporter.getFinishedSpans()).toHaveLength(2);
  });
});
