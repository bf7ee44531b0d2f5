/**
 * The shape of the closed-loop sections of results.json (rpc, baselines, signing): each
 * target's call cases at every concurrency, each case its repetitions and their summary.
 */
import type { Repeated } from '../load/run.js';
import type { CallName, TargetName } from '../targets/target.js';

export interface CaseResult extends Repeated {
  call: CallName;
  payloadBytes: number;
  concurrency: number;
  label: string;
}

export interface TargetResult {
  target: TargetName;
  description: string;
  cases: CaseResult[];
  /** Why the target was not (fully) measured, e.g. its server did not start. */
  error?: string;
}

export interface ClosedLoopSection {
  targets: TargetResult[];
}
