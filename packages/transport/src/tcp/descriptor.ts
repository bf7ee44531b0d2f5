import { addressesOf, type TransportDescriptor } from '../descriptor.js';
import { TcpTransport } from './index.js';

export const tcp = {
  kind: 'tcp',
  description: 'node:net: length-prefixed binary frames, many calls in flight on one connection',
  brokered: false,
  maxMessageBytes: 1024 * 1024, // a policy: frames could carry more
  comparePortOffset: 20,
  settings: {},
  where: addressesOf,
  create: (options) => new TcpTransport(options),
} as const satisfies TransportDescriptor;
