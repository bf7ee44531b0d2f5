export * from './define.js';
export * from './bind.js';
export { DomainError, type DomainErrorCode } from './domain-error.js';
export * from './common.js';
export { assertValid } from './validate.js';
export { postLength } from './text.js';
export { auth } from './auth.js';
export { posts } from './posts.js';
export { follows } from './follows.js';

import { transportConfigFromEnv, type TransportConfig, type TransportPresets } from '@chirp/transport';
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

/**
 * Chirp's named setups for TRANSPORT=<name>. `mixed` is the original talk's: auth over TCP,
 * posts and follows over AMQP, posts' events (notifications) over UDP; notify over http.
 */
export const TRANSPORT_PRESETS: TransportPresets = {
  mixed: {
    auth: { transport: 'tcp' },
    posts: { transport: 'amqp', events: 'udp' },
    follows: { transport: 'amqp' },
  },
};

/** Where Chirp's services are and on which transport, from an environment (transport's config.ts). */
export function chirpTransportConfig(env: Record<string, string | undefined>): TransportConfig {
  return transportConfigFromEnv(env, DEFAULT_PORTS, TRANSPORT_PRESETS);
}
