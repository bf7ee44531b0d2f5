export {
  startTelemetry,
  telemetry,
  otlpTracesUrl,
  propagateContext,
  type Telemetry,
  type TelemetryOptions,
} from './setup.js';
export { SpanStore, MAX_SPANS_PER_TRACE, type SpanRecord } from './span-store.js';
export { Metrics } from './metrics.js';
export { answerTelemetry } from './admin.js';
export { traceFields } from './logs.js';
export { splitOf, childrenById, isCall, isDatabaseSpan, type Split } from './breakdown.js';
export { startOtlpReceiver, type OtlpReceiver } from './receiver.js';
