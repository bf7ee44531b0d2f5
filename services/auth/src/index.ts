/** The auth service as a library: what main.ts, tests and a whole-system launcher start it with. */
export { startAuth, type AuthStarted } from './start.js';
export { authConfigFromEnv, type AuthConfig } from './config.js';
