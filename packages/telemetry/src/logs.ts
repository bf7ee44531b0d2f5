import { trace } from '@opentelemetry/api';

/**
 * The trace and span of whatever is running now, for every log line (pino's `mixin`): a line
 * written while serving a call names the call's trace, so one user action can be followed from
 * the browser's request to the WebSocket push through the logs of every process. In a service
 * (whose context is active only until a handler first awaits: @chirp/transport's
 * scoped-context.ts) a line written later names its `traceId` itself, from the call's context.
 */
export function traceFields(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
