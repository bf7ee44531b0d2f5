/**
 * A target is one thing the benchmark measures: a Chirp transport (http, amqp, tcp, udp, nats),
 * the bare baseline it is compared with (Fastify + undici, amqplib, node:net, node:dgram, nats.js),
 * an extra baseline that prices a choice the transport does not make (amqplib over a quorum
 * queue: the price of durability), TCP and UDP with every message signed (tcp+secret, udp+secret), or a transport with
 * telemetry on (tcp+traced, tcp+sampled, …). Each has two halves that never share a process: `serve` runs in the
 * server process (server-child.ts) and `connect` in the load generator. Both halves serve
 * and call the same two methods with the same payloads, so the figures compare.
 */
import type { TransportKind } from '@chirp/transport';

export const BASELINE_NAMES = ['fastify', 'amqplib', 'net', 'dgram', 'natsjs'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];
/** TCP and UDP again with TRANSPORT_SECRET set: what signing every message costs. */
export const SIGNED_NAMES = ['tcp+secret', 'udp+secret'] as const;
export type SignedName = (typeof SIGNED_NAMES)[number];
/**
 * Each transport again with telemetry on, as every service runs it (spans kept and exported over
 * OTLP, per-call metrics): `+traced` records every call, `+sampled` one trace in a hundred,
 * `+kept` the same but exporting nothing (the spans only kept in the process, for the Transports page),
 * `+untraced` none (what metrics and carrying the trace context cost on their own). `+context` has
 * no telemetry but OpenTelemetry's AsyncLocalStorage context manager: what Node's async hooks would
 * cost if handlers found their trace through it (the services hand it on; the web app does use it).
 */
export const TRACING_MODES = ['context', 'untraced', 'kept', 'sampled', 'traced'] as const;
export type TracingMode = (typeof TRACING_MODES)[number];
export type TracedName = `${TransportKind}+${TracingMode}`;
/**
 * Bare libraries again, used the way the transport chose not to: AMQP over a quorum request
 * queue, every request written to the broker's log. Measured beside the baselines, not as one.
 */
export const PRICED_NAMES = ['amqplib+quorum'] as const;
export type PricedName = (typeof PRICED_NAMES)[number];
export type TargetName = TransportKind | BaselineName | SignedName | TracedName | PricedName;

/** Each transport against the bare library it is built on. */
export const BASELINE_OF: Record<TransportKind, BaselineName> = {
  http: 'fastify',
  amqp: 'amqplib',
  tcp: 'net',
  udp: 'dgram',
  nats: 'natsjs',
};

/** What the baselines section measures beside each transport's baseline. */
export const PRICED_BESIDE: Partial<Record<TransportKind, PricedName[]>> = { amqp: ['amqplib+quorum'] };

export function isBaseline(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

/** The calls every target serves: an echo, and a small fixed reply standing in for auth.verify. */
export type CallName = 'echo' | 'verify';

/** What a served target needs to know; the same object reaches both halves. */
export interface TargetContext {
  amqpUrl: string;
  /** Prefix of every AMQP queue and exchange, and NATS subject, this run creates, unique per run. */
  amqpPrefix: string;
  natsUrl: string;
  /** A call's deadline; a call that takes longer counts as an error. */
  timeoutMs: number;
  /** Where traced processes export their spans (the run's collector), once it runs. */
  otlpEndpoint?: string;
}

export interface ServedTarget {
  /** Where the client half reaches it: host:port, or a queue name. */
  address: string;
  close(): Promise<void>;
}

export interface Caller {
  call(method: CallName, payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export interface Target {
  name: TargetName;
  /** One line for the report: what exactly is measured. */
  description: string;
  serve(context: TargetContext): Promise<ServedTarget>;
  connect(address: string, context: TargetContext): Promise<Caller>;
}

/** The token a verify call sends and the user it gets back: the size of auth.verify's real messages. */
export const VERIFY_REQUEST = { token: 'c2a1f0e4b7d94e6c8a3b5f7d9e1c2b4a' };
export const VERIFY_REPLY = { user: { id: '42', username: 'bench_user', createdAt: '2025-01-01T00:00:00.000Z' } };

/** What every server half answers, whatever carries it. */
export function answer(method: string, payload: unknown): unknown {
  if (method === 'echo') return payload;
  if (method === 'verify') return VERIFY_REPLY;
  throw new Error(`bench target has no method ${method}`);
}

/** An echo payload whose JSON is exactly `bytes` long: `{"data":"xxx…"}`. */
export function echoPayload(bytes: number): { data: string } {
  const overhead = JSON.stringify({ data: '' }).length;
  if (bytes < overhead) throw new Error(`an echo payload is at least ${overhead} bytes, not ${bytes}`);
  return { data: 'x'.repeat(bytes - overhead) };
}
