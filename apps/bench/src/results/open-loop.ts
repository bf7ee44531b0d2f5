/**
 * The shape of results.json's openloop section: every rate each target was offered, and the
 * highest it sustained.
 */
import type { OpenLoopFigures } from '../load/open-loop.js';
import type { TargetName } from '../targets/target.js';

export interface OpenLoopTarget {
  target: TargetName;
  /** Every rate tried, in the order tried. */
  steps: OpenLoopFigures[];
  /** Highest rate (calls/s) that kept p99 under the limit with no errors; null if none did. */
  maxSustainableRate: number | null;
  /** Why the search stopped: the lowest rate that failed, and how. */
  stoppedBecause: string;
  error?: string;
}

export interface OpenLoopSection {
  payloadBytes: number;
  p99LimitMs: number;
  targets: OpenLoopTarget[];
}
