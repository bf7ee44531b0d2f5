export { runtimeConfigFromEnv, type RuntimeConfig } from './config.js';
export { runService, type Runtime, type RunningService, type Started } from './run.js';
export { serviceMain } from './main.js';
