/**
 * The embedded section of results.json: the application as `npm start` runs it — every
 * service on PGlite in its own process, tracing on for the Transports page — asked for a home
 * timeline one request at a time, as one person clicking does, on each transport.
 */
import type { TransportKind } from '@chirp/transport';
import type { LatencySummary } from '../load/latency.js';
import type { EmbeddedSettings } from '../settings.js';
import type { StackProcessName } from '../stack/stack.js';

export interface EmbeddedSection extends EmbeddedSettings {
  /** People the viewer follows, and posts each has written. */
  followees: number;
  postsEach: number;
  cases: EmbeddedCase[];
  /** Transports that could not be measured, with why. */
  errors: Record<string, string>;
}

export interface EmbeddedCase {
  transport: TransportKind;
  /** GET /api/timeline through the web app, ms. */
  homeTimeline: LatencySummary;
  /** CPU per home timeline, ms, of each process of the stack (with its children), and of RabbitMQ on amqp. */
  cpuMsPerRequest: Partial<Record<StackProcessName, number>>;
  /** The same requests made 8 at a time: CPU per request across the stack, ms (as totalCpu of cpuMsPerRequest). */
  loadedCpuMsPerRequest: number;
  /** auth.verify of a token nobody has verified yet, from a client in the load generator on the same transport, ms. */
  verify: LatencySummary;
}

/** The processes `npm start` starts, whose CPU each case gives. */
export const EMBEDDED_PROCESSES = ['web', 'auth', 'posts', 'follows', 'notify'] as const;

/** The bar `npm start` is held to: at most this much CPU across the stack per home timeline, ms… */
export const EMBEDDED_CPU_TARGET_MS = 5;
/** …and auth.verify's p50 at most this, ms. */
export const EMBEDDED_VERIFY_TARGET_MS = 3;

/** CPU per request across the processes of `perProcess`, ms. */
export function totalCpu(perProcess: Partial<Record<StackProcessName, number>>): number {
  return Object.values(perProcess).reduce((sum, ms) => sum + ms, 0);
}
