/**
 * The shape of results.json as a whole: when and where the run was made, its settings, each
 * workload's section by workload name, and the transports against their baselines.
 */
import type { HarnessCost } from '../load/harness.js';
import type { Machine } from '../machine.js';
import type { Settings } from '../settings.js';
import type { ClosedLoopSection } from './closed-loop.js';
import type { Comparison } from './comparison.js';
import type { EmbeddedSection } from './embedded.js';
import type { FaultsSection } from './faults.js';
import type { NotifySection } from './notify.js';
import type { OpenLoopSection } from './open-loop.js';
import type { SocialSection } from './social.js';
import type { TelemetrySection } from './telemetry.js';

/** Every workload's section, by workload name. */
export interface Sections {
  rpc: ClosedLoopSection;
  baselines: ClosedLoopSection;
  signing: ClosedLoopSection;
  telemetry: TelemetrySection;
  openloop: OpenLoopSection;
  social: SocialSection;
  notify: NotifySection;
  embedded: EmbeddedSection;
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
