/**
 * The span collector: an OTLP/HTTP receiver (@chirp/telemetry's) in a process of its own,
 * standing in for Jaeger. Every traced process of a run exports its spans here, so receiving
 * and parsing them costs neither the load generator nor the processes measured. The load
 * generator asks for the spans of the traces it sampled; the rest are counted and let go.
 */
import { startOtlpReceiver } from '@chirp/telemetry';
import type { FromCollector, ToCollector } from './messages.js';

/** Enough for every sampled trace of a workload; older spans go first. */
const MAX_SPANS = 400_000;

const receiver = await startOtlpReceiver({ maxSpans: MAX_SPANS });
const send = (message: FromCollector) => process.send?.(message);

process.on('message', (message: ToCollector) => {
  switch (message.type) {
    case 'spans': {
      const wanted = new Set(message.traceIds);
      const spans = receiver.spans().filter((span) => wanted.has(span.traceId));
      send({ type: 'spans', id: message.id, spans, received: receiver.received });
      break;
    }
    case 'stop':
      void receiver.close().finally(() => process.disconnect());
      break;
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', endpoint: receiver.endpoint });
