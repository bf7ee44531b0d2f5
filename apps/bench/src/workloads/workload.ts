/**
 * A workload is one part of the suite: it measures something on each target it covers and
 * returns a section of results.json. It does not render: the section's shape is in results/,
 * and report/renderers.ts turns the section into the report (markdown and charts). The suite
 * runs the selected workloads in order; adding one (social mix, notification latency, faults)
 * is a new file here and a line in suite.ts's list, its name in settings.ts's WORKLOAD_NAMES,
 * its section's shape in results/ (and in Sections), and its renderer in report/renderers.ts.
 */
import type { Collector } from '../process/collector.js';
import type { ServerProcess } from '../process/server-process.js';
import type { Progress } from '../progress.js';
import type { TargetResult } from '../results/closed-loop.js';
import type { Sections } from '../results/suite-results.js';
import type { Settings, WorkloadName } from '../settings.js';
import type { Caller, TargetContext, TargetName } from '../targets/target.js';

/** A server process serving one target, and the load generator's connection to it. */
export interface RunningTarget {
  server: ServerProcess;
  caller: Caller;
}

export interface SuiteContext {
  settings: Settings;
  progress: Progress;
  targetContext: TargetContext;
  /** With --profile: where every measured process writes its CPU profile. */
  profileDir?: string;
  /** The target's server process and a connected caller: started on first use, then reused. */
  target(name: TargetName): Promise<RunningTarget>;
  /** Stop a target's server process and caller now, rather than at the end of the run. */
  release(name: TargetName): Promise<void>;
  /** Baselines the RPC workload measured in turns with their transports, for the baselines workload to report. */
  baselinesMeasured: Map<TargetName, TargetResult>;
  /** The run's span collector (started on first use; every target started after it exports to it). */
  collector(): Promise<Collector>;
}

export interface Workload<N extends WorkloadName = WorkloadName> {
  name: N;
  title: string;
  run(context: SuiteContext): Promise<Sections[N]>;
}
