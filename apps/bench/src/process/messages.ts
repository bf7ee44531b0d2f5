/** The messages between the load generator and its child processes, over Node's IPC channel. */
import { performance } from 'node:perf_hooks';
import type { SpanRecord } from '@chirp/telemetry';
import type { TargetContext, TargetName } from '../targets/target.js';

/** A process's CPU time so far (process.cpuUsage, µs) and when it was read (epoch ms, sub-ms). */
export interface CpuReading {
  userUs: number;
  systemUs: number;
  atMs: number;
}

export type ToServer =
  { type: 'serve'; target: TargetName; context: TargetContext } | { type: 'cpu'; id: number } | { type: 'stop' };

export type FromServer =
  | { type: 'ready'; address: string }
  | { type: 'failed'; message: string }
  | { type: 'cpu'; id: number; reading: CpuReading }
  | { type: 'stopped' };

export type ToCollector = { type: 'spans'; id: number; traceIds: string[] } | { type: 'stop' };

export type FromCollector =
  { type: 'ready'; endpoint: string } | { type: 'spans'; id: number; spans: SpanRecord[]; received: number };

export function readCpu(): CpuReading {
  const { user, system } = process.cpuUsage();
  return { userUs: user, systemUs: system, atMs: performance.timeOrigin + performance.now() };
}

/** CPU time used between two readings, µs. */
export function cpuMicros(from: CpuReading, to: CpuReading): number {
  return to.userUs - from.userUs + (to.systemUs - from.systemUs);
}

/** CPU used between two readings, as a percentage of one core. */
export function cpuPercent(from: CpuReading, to: CpuReading): number {
  const wallMs = to.atMs - from.atMs;
  return wallMs <= 0 ? 0 : (cpuMicros(from, to) / 1000 / wallMs) * 100;
}

/**
 * CPU used per call, µs: the cost of a call that holds even when other processes share the
 * machine (throughput and latency do not), so it is the fairest way to compare two targets.
 */
export function cpuPerCall(from: CpuReading, to: CpuReading, calls: number): number {
  return calls > 0 ? cpuMicros(from, to) / calls : 0;
}
