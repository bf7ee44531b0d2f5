import { addressesOf, type TransportDescriptor } from '../descriptor.js';
import { UdpTransport } from './index.js';

export const udp = {
  kind: 'udp',
  description:
    'node:dgram: binary envelopes, those of one tick to one address in one datagram; retransmission, de-duplication',
  brokered: false,
  maxMessageBytes: 65_507, // the most one IPv4 datagram can carry
  ceilingBytes: 65_507,
  comparePortOffset: 30,
  settings: {},
  where: addressesOf,
  create: (options) => new UdpTransport(options),
} as const satisfies TransportDescriptor;
