/**
 * Every transport Chirp has, by kind: the one list the factory, config, web app, bench and
 * start script read (descriptor.ts). A kind in TRANSPORT_KINDS without a descriptor here does
 * not compile.
 */
import type { TransportDescriptor } from './descriptor.js';
import type { TransportKind } from './transport.js';
import { amqp } from './amqp/descriptor.js';
import { http } from './http/descriptor.js';
import { tcp } from './tcp/descriptor.js';
import { udp } from './udp/descriptor.js';
import { nats } from './nats/descriptor.js';

export const TRANSPORTS: { readonly [K in TransportKind]: TransportDescriptor & { readonly kind: K } } = {
  http,
  amqp,
  tcp,
  udp,
  nats,
};

export type { TransportDescriptor };
