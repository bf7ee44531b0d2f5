/** The posts service as a library: what main.ts and whole-system tests start. */
export { startPosts } from './start.js';
export { postsConfigFromEnv, type PostsConfig } from './config.js';
