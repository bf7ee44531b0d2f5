/** Every target by name: the four transports and their four baselines. */
import { amqplibEcho } from './amqplib-echo.js';
import { chirpTarget } from './chirp.js';
import { dgramEcho } from './dgram-echo.js';
import { fastifyEcho } from './fastify-echo.js';
import { netEcho } from './net-echo.js';
import type { Target, TargetName } from './target.js';

export * from './target.js';

export const TARGETS: Record<TargetName, Target> = {
  http: chirpTarget('http', 'Chirp HTTP transport: Fastify server, undici Pool client'),
  amqp: chirpTarget('amqp', 'Chirp AMQP transport: durable request queue, direct reply-to'),
  tcp: chirpTarget('tcp', 'Chirp TCP transport: one multiplexed connection, length-prefixed JSON envelopes'),
  udp: chirpTarget('udp', 'Chirp UDP transport: one JSON envelope per datagram, retransmission, de-duplication'),
  fastify: fastifyEcho,
  amqplib: amqplibEcho,
  net: netEcho,
  dgram: dgramEcho,
};
