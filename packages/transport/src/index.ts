export * from './transport.js';
export * from './errors.js';
export * from './config.js';
export { createTransport, RoutedTransport } from './factory.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { newTraceId } from './ids.js';
export { onward } from './options.js';
export { expandReplicas, type Lookup } from './replicas.js';
