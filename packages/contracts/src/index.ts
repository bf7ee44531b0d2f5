export * from './define.js';
export * from './bind.js';
export { DomainError, type DomainErrorCode } from './domain-error.js';
export * from './common.js';
export { assertValid } from './validate.js';
export { postLength } from './text.js';
export { auth } from './auth.js';
export { posts } from './posts.js';
export { follows } from './follows.js';

import { auth } from './auth.js';
import { follows } from './follows.js';
import { posts } from './posts.js';

/** Every service with a contract, and the port each listens on by default. */
export const CONTRACTS = { auth, posts, follows } as const;

export const DEFAULT_PORTS: Record<string, number> = {
  auth: auth.defaultPort,
  posts: posts.defaultPort,
  follows: follows.defaultPort,
  notify: 4104,
};
