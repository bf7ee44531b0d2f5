/**
 * The shape of results.json's notify section: per transport and fan-out, how long posts took
 * to reach their followers' sockets, repetition by repetition.
 */
import type { LatencySummary } from '../load/latency.js';
import type { Spread } from '../load/run.js';
import type { StackTransport } from '../stack/stack.js';

export interface NotifyRun extends LatencySummary {
  expected: number;
  received: number;
  missed: number;
  /** The create call's own latency (POST /api/posts), median. */
  createP50: number;
}

export interface NotifyCase {
  fanout: number;
  runs: NotifyRun[];
  p50: Spread;
  p99: Spread;
  missed: Spread;
}

export interface NotifyTarget {
  transport: StackTransport;
  cases: NotifyCase[];
  error?: string;
}

export interface NotifySection {
  fanouts: number[];
  postsPerCase: number;
  graceMs: number;
  targets: NotifyTarget[];
}
