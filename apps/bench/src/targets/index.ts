/** Every target by name: the four transports, their four baselines, and TCP and UDP signed. */
import { amqplibEcho } from './amqplib-echo.js';
import { chirpTarget, signedTarget } from './chirp.js';
import { dgramEcho } from './dgram-echo.js';
import { fastifyEcho } from './fastify-echo.js';
import { netEcho } from './net-echo.js';
import type { Target, TargetName } from './target.js';

export * from './target.js';

const TCP = 'Chirp TCP transport: one multiplexed connection, length-prefixed JSON envelopes';
const UDP = 'Chirp UDP transport: one JSON envelope per datagram, retransmission, de-duplication';

export const TARGETS: Record<TargetName, Target> = {
  http: chirpTarget('http', 'Chirp HTTP transport: Fastify server, undici Pool client'),
  amqp: chirpTarget('amqp', 'Chirp AMQP transport: durable quorum request queue, direct reply-to'),
  tcp: chirpTarget('tcp', TCP),
  udp: chirpTarget('udp', UDP),
  'tcp+secret': signedTarget('tcp', TCP),
  'udp+secret': signedTarget('udp', UDP),
  fastify: fastifyEcho,
  amqplib: amqplibEcho,
  net: netEcho,
  dgram: dgramEcho,
};
