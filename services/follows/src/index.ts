/** The follows service as a library: how the lead's launcher and other tests start it. */
export { startFollows } from './start.js';
export { followsConfigFromEnv, type FollowsConfig } from './config.js';
