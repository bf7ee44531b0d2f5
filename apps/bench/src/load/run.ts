/**
 * What one measured run yields, whichever loop drove it, and how repetitions of a run are
 * summarised: the median of each figure, with its minimum and maximum as the spread.
 */
import { readCpu, type CpuReading } from '../process/messages.js';
import type { LatencySummary } from './latency.js';

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
  const pick = (f: (values: number[]) => number): Figures =>
    Object.fromEntries(SUMMARISED.map((key) => [key, f(runs.map((r) => r[key]).sort((a, b) => a - b))])) as Figures;
  return { runs, median: pick(median), min: pick((v) => v[0]!), max: pick((v) => v[v.length - 1]!) };
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? code : 'ERROR';
}
