import { addressesOf, type TransportDescriptor } from '../descriptor.js';
import { HttpTransport } from './index.js';

export const http = {
  kind: 'http',
  description: 'Fastify servers, undici keep-alive pools; JSON over HTTP/1.1, events as webhooks',
  brokered: false,
  maxMessageBytes: 1024 * 1024, // a policy: HTTP could carry more
  comparePortOffset: 10,
  settings: {},
  where: addressesOf,
  create: (options) => new HttpTransport(options),
} as const satisfies TransportDescriptor;
