/**
 * What one measured run yields, whichever loop drove it, and how repetitions of a run are
 * summarised: the median of each figure, with its minimum and maximum as the spread.
 */
import { readCpu, type CpuReading } from '../process/messages.js';
import type { Caller, CallName } from '../targets/target.js';
import type { KindFigures } from './by-kind.js';
import type { LatencySummary } from './latency.js';

/** One call a loop makes: its kind (for the per-kind breakdown of a request mix) and how to send it. */
export interface Request {
  kind: string;
  send(): Promise<unknown>;
}

/** Draws the next call: always the same one, or one of a mix. */
export type RequestSource = () => Request;

/** Every call the same `method` with the same payload (the RPC cases). */
export function fixedRequest(caller: Caller, method: CallName, payload: unknown): RequestSource {
  const request: Request = { kind: method, send: () => caller.call(method, payload) };
  return () => request;
}

/** Anything whose CPU time can be read: a server process. */
export interface CpuSource {
  cpu(): Promise<CpuReading>;
}

/** Both processes' CPU time now; the server's comes back over IPC, awaited later. */
export function readBoth(server: CpuSource): { client: CpuReading; server: Promise<CpuReading> } {
  const reading = server.cpu();
  reading.catch(() => {}); // a dead server fails the run where it is awaited, not as an unhandled rejection
  return { client: readCpu(), server: reading };
}

export interface RunFigures extends LatencySummary {
  /** Successful calls per second in the measured window. */
  throughput: number;
  /** Calls in the measured window that failed (any reason, deadline included). */
  errors: number;
  /** Errors by code (TransportError code, Node error code, or ERROR). */
  errorCodes: Record<string, number>;
  /** CPU of the load generator and of the server during the window, % of one core. */
  clientCpu: number;
  serverCpu: number;
  /** CPU time per successful call in the window, µs: load generator (incl. the client library) and server. */
  clientCpuPerCall: number;
  serverCpuPerCall: number;
  /** Per kind of call, when the loop was asked to break its figures down (a request mix). */
  byKind?: Record<string, KindFigures>;
}

/** The numeric figures that are summarised across repetitions. */
export const SUMMARISED = [
  'throughput',
  'p50',
  'p90',
  'p99',
  'p999',
  'meanMs',
  'maxMs',
  'count',
  'errors',
  'clientCpu',
  'serverCpu',
  'clientCpuPerCall',
  'serverCpuPerCall',
] as const;
export type SummarisedKey = (typeof SUMMARISED)[number];
export type Figures = Record<SummarisedKey, number>;

export interface Repeated {
  runs: RunFigures[];
  median: Figures;
  min: Figures;
  max: Figures;
}

export function summarise(runs: RunFigures[]): Repeated {
  if (runs.length === 0) throw new Error('no runs to summarise');
  const spreads = SUMMARISED.map((key) => [key, spreadOf(runs.map((r) => r[key]))] as const);
  const pick = (which: keyof Spread): Figures =>
    Object.fromEntries(spreads.map(([key, spread]) => [key, spread[which]])) as Figures;
  return { runs, median: pick('median'), min: pick('min'), max: pick('max') };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median of repetitions' values, with their minimum and maximum. */
export function spreadOf(values: number[]): Spread {
  if (values.length === 0) throw new Error('no values to summarise');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? code : 'ERROR';
}
