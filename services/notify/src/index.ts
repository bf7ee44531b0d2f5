/** notify's public face: how to start it and its configuration. */
export { startNotify } from './start.js';
export { notifyConfigFromEnv, type NotifyConfig } from './config.js';
