/**
 * A workload is one part of the suite: it measures something on each target it covers and
 * returns a section of results.json, and it renders that section into the report (markdown
 * and charts). The suite runs the selected workloads in order; adding one (social mix,
 * notification latency, faults) is a new file here and a line in suite.ts's list.
 */
import type { Comparison } from '../comparison.js';
import type { HarnessCost } from '../load/harness.js';
import type { Machine } from '../machine.js';
import type { ServerProcess } from '../process/server-process.js';
import type { Progress } from '../progress.js';
import type { Settings, WorkloadName } from '../settings.js';
import type { Caller, TargetContext, TargetName } from '../targets/target.js';
import type { ClosedLoopSection, TargetResult } from './closed-loop-workload.js';
import type { FaultsSection } from './faults.js';
import type { NotifySection } from './notify.js';
import type { OpenLoopSection } from './open-loop-workload.js';
import type { SocialSection } from './social.js';
import type { TelemetrySection } from './telemetry.js';
import type { Collector } from '../process/collector.js';

/** Every workload's section, by workload name. */
export interface Sections {
  rpc: ClosedLoopSection;
  baselines: ClosedLoopSection;
  signing: ClosedLoopSection;
  telemetry: TelemetrySection;
  openloop: OpenLoopSection;
  social: SocialSection;
  notify: NotifySection;
  faults: FaultsSection;
}

export interface SuiteResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** The load generator's own CPU per call, measured at the start. */
  harness: HarnessCost;
  settings: Settings;
  sections: Partial<Sections>;
  /** Transports against their baselines, case by case (present when both were measured). */
  comparison: Comparison;
}

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

export interface Chart {
  /** File name inside the result folder, e.g. `rpc-throughput.svg`. */
  file: string;
  title: string;
  svg: string;
}

export interface Rendered {
  markdown: string;
  charts: Chart[];
}

export interface Workload<N extends WorkloadName = WorkloadName> {
  name: N;
  title: string;
  run(context: SuiteContext): Promise<Sections[N]>;
  render(section: Sections[N], results: SuiteResults): Rendered;
}
