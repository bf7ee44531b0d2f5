import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { TRANSPORT_TRACER } from '@chirp/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from './receiver.js';
import { startTelemetry, type Telemetry } from './setup.js';

/** A context whose span is a caller's in another process, with these flags. */
function remote(traceFlags: number, traceState?: string): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    traceFlags,
    isRemote: true,
    ...(traceState !== undefined && { traceState: new TraceState(traceState) }),
  });
}

let started: Telemetry | undefined;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await started?.stop();
  await receiver?.close();
  started = receiver = undefined;
});

describe("the transports' tracer", () => {
  it("hangs the SDK's spans under its own, in the span store and in the OTLP export alike", async () => {
    receiver = await startOtlpReceiver();
    started = startTelemetry({ service: 'posts', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    const server = trace.getTracer(TRANSPORT_TRACER).startSpan('posts/create', { kind: SpanKind.SERVER }, remote(1));
    server.setAttributes({ 'rpc.service': 'posts', 'chirp.request.size': 120 });
    const query = trace.getTracer('@chirp/db').startSpan('INSERT posts', {}, trace.setSpan(ROOT_CONTEXT, server));
    query.end();
    server.setStatus({ code: SpanStatusCode.ERROR });
    server.end();
    server.setAttribute('late', 'ignored');
    server.end(); // a second end changes nothing and reaches no processor

    const expected = [
      { name: 'INSERT posts', parentId: server.spanContext().spanId, process: 'posts' },
      {
        name: 'posts/create',
        kind: 'server',
        parentId: 'b'.repeat(16),
        process: 'posts',
        error: true,
        attributes: { 'rpc.service': 'posts', 'chirp.request.size': 120 },
      },
    ];
    const kept = started.spans.spansOf(['a'.repeat(32)]);
    expect(kept).toMatchObject(expected);
    expect(kept[1]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(kept[1]!.startMs - Date.now())).toBeLessThan(5_000);

    await started.flush();
    expect(receiver.spans()).toMatchObject(expected);
    expect(receiver.spans()[1]!.attributes).not.toHaveProperty('late');
  });

  it('follows the sampler: a new trace 1 in N, and a caller’s decision', () => {
    started = startTelemetry({
      service: 'posts',
      env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
    });
    const tracer = trace.getTracer(TRANSPORT_TRACER);

    // No caller, ratio 0: nothing recorded, but fresh ids travel, marked not sampled.
    const root = tracer.startSpan('posts/create', { kind: SpanKind.CLIENT }, ROOT_CONTEXT);
    expect(root.isRecording()).toBe(false);
    expect(root.spanContext()).toMatchObject({ traceFlags: TraceFlags.NONE });
    expect(root.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.spanContext().traceId).not.toBe('0'.repeat(32));

    // A sampled caller is followed, with its trace state.
    const child = tracer.startSpan('posts/create', { kind: SpanKind.SERVER }, remote(1, 'vendor=1'));
    expect(child.isRecording()).toBe(true);
    expect(child.spanContext()).toMatchObject({ traceId: 'a'.repeat(32), traceFlags: TraceFlags.SAMPLED });
    expect(child.spanContext().spanId).not.toBe('b'.repeat(16));
    expect(child.spanContext().traceState?.serialize()).toBe('vendor=1');
    child.end();

    // An unsampled caller too: the same trace goes on, unrecorded.
    const unsampled = tracer.startSpan('posts/create', { kind: SpanKind.SERVER }, remote(0));
    expect(unsampled.isRecording()).toBe(false);
    expect(unsampled.spanContext()).toMatchObject({ traceId: 'a'.repeat(32), traceFlags: TraceFlags.NONE });
  });
});
