export { runtimeConfigFromEnv, type RuntimeConfig } from './config.js';
export { runService, type Runtime, type RunningService, type Started } from './run.js';
export { Metrics, instrument } from './metrics.js';
export { serviceMain } from './main.js';
