/**
 * Spans for tests: an OpenTelemetry SDK that keeps every finished span in memory, registered
 * for the whole test process (as a service's telemetry would be), with the services' context
 * manager (scoped-context.ts): a handler's own calls find its span only when handed it. Kept
 * apart from testing/index.ts, which the bench imports at run time without the SDK.
 */
import { ROOT_CONTEXT, TraceFlags, context, trace, type Context } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { newSpanId, newTraceId } from '../ids.js';
import { ScopedContextManager } from '../scoped-context.js';

export type { ReadableSpan };

export interface RecordedSpans {
  /** Every span of `traceId` finished so far, oldest first. */
  ofTrace(traceId: string): ReadableSpan[];
  all(): ReadableSpan[];
}

let recorded: RecordedSpans | undefined;

/** Start recording (once per process; later calls return the same recorder). */
export function recordSpans(): RecordedSpans {
  if (recorded !== undefined) return recorded;
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new ScopedContextManager());
  recorded = {
    all: () => exporter.getFinishedSpans(),
    ofTrace: (traceId) => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId),
  };
  return recorded;
}

/** A context as if a caller upstream had sent this trace (sampled): a call made in it joins that trace. */
export function upstream(traceId = newTraceId(), spanId = newSpanId()): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/** The span's parent span id ('' for a root). */
export function parentIdOf(span: ReadableSpan): string {
  return span.parentSpanContext?.spanId ?? '';
}
