/**
 * Every target by name: each transport and its baseline, AMQP's quorum-queue price,
 * TCP and UDP signed, each transport traced.
 */
import { amqplibEcho, amqplibQuorumEcho } from './amqplib-echo.js';
import { TRANSPORTS, TRANSPORT_KINDS, type TransportKind } from '@chirp/transport';
import { chirpTarget, signedTarget, tracedTarget } from './chirp.js';
import { dgramEcho } from './dgram-echo.js';
import { fastifyEcho } from './fastify-echo.js';
import { natsjsEcho } from './natsjs-echo.js';
import { netEcho } from './net-echo.js';
import { TRACING_MODES, type Target, type TargetName, type TracedName } from './target.js';

export * from './target.js';

/** `Chirp TCP transport: node:net: length-prefixed binary frames, …`, from the transport's descriptor. */
const describe = (kind: TransportKind) => `Chirp ${kind.toUpperCase()} transport: ${TRANSPORTS[kind].description}`;

const CHIRP = Object.fromEntries(TRANSPORT_KINDS.map((kind) => [kind, chirpTarget(kind, describe(kind))])) as Record<
  TransportKind,
  Target
>;

const TRACED = Object.fromEntries(
  TRANSPORT_KINDS.flatMap((kind) =>
    TRACING_MODES.map((mode) => [`${kind}+${mode}`, tracedTarget(kind, mode, describe(kind))]),
  ),
) as Record<TracedName, Target>;

export const TARGETS: Record<TargetName, Target> = {
  ...CHIRP,
  'tcp+secret': signedTarget('tcp', describe('tcp')),
  'udp+secret': signedTarget('udp', describe('udp')),
  ...TRACED,
  fastify: fastifyEcho,
  amqplib: amqplibEcho,
  'amqplib+quorum': amqplibQuorumEcho,
  net: netEcho,
  dgram: dgramEcho,
  natsjs: natsjsEcho,
};
