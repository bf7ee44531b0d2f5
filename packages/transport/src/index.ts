export * from './transport.js';
export { TRANSPORTS, type TransportDescriptor } from './transports.js';
export * from './errors.js';
export * from './config.js';
export { createTransport, RoutedTransport, via } from './factory.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { newSpanId, newTraceId } from './ids.js';
export { observeCalls, type CallObserver } from './observer.js';
export {
  codeOf,
  followParentSampling,
  traceCarrierOf,
  traceContextOf,
  CHIRP_TRANSPORT,
  TRANSPORT_TRACER,
  type TraceCarrier,
} from './tracing.js';
export { onward } from './options.js';
export { ScopedContextManager } from './scoped-context.js';
export { expandReplicas, type Lookup } from './replicas.js';
export { DELIVERY_LIMIT } from './amqp/topology.js';
