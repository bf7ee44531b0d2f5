/**
 * Every target by name: the four transports, their four baselines, AMQP's quorum-queue price,
 * TCP and UDP signed, each transport traced.
 */
import { amqplibEcho, amqplibQuorumEcho } from './amqplib-echo.js';
import { TRANSPORT_KINDS } from '@chirp/transport';
import { chirpTarget, signedTarget, tracedTarget } from './chirp.js';
import { dgramEcho } from './dgram-echo.js';
import { fastifyEcho } from './fastify-echo.js';
import { netEcho } from './net-echo.js';
import { TRACING_MODES, type Target, type TargetName, type TracedName } from './target.js';

export * from './target.js';

const DESCRIPTIONS = {
  http: 'Chirp HTTP transport: Fastify server, undici Pool client',
  amqp: 'Chirp AMQP transport: durable classic request queue, transient requests, direct reply-to',
  tcp: 'Chirp TCP transport: one multiplexed connection, length-prefixed binary envelopes',
  udp: 'Chirp UDP transport: one binary envelope per datagram, retransmission, de-duplication',
};

const TRACED = Object.fromEntries(
  TRANSPORT_KINDS.flatMap((kind) =>
    TRACING_MODES.map((mode) => [`${kind}+${mode}`, tracedTarget(kind, mode, DESCRIPTIONS[kind])]),
  ),
) as Record<TracedName, Target>;

export const TARGETS: Record<TargetName, Target> = {
  http: chirpTarget('http', DESCRIPTIONS.http),
  amqp: chirpTarget('amqp', DESCRIPTIONS.amqp),
  tcp: chirpTarget('tcp', DESCRIPTIONS.tcp),
  udp: chirpTarget('udp', DESCRIPTIONS.udp),
  'tcp+secret': signedTarget('tcp', DESCRIPTIONS.tcp),
  'udp+secret': signedTarget('udp', DESCRIPTIONS.udp),
  ...TRACED,
  fastify: fastifyEcho,
  amqplib: amqplibEcho,
  'amqplib+quorum': amqplibQuorumEcho,
  net: netEcho,
  dgram: dgramEcho,
};
