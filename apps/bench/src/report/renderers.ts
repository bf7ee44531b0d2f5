/**
 * Which renderer turns each workload's section of results.json into its part of the report.
 * One entry per workload name: a workload added without a renderer does not compile.
 */
import type { Rendered } from '../results/rendered.js';
import type { Sections, SuiteResults } from '../results/suite-results.js';
import type { WorkloadName } from '../settings.js';
import { renderClosedLoop } from './closed-loop-report.js';
import { renderEmbedded } from './embedded-report.js';
import { renderFaults } from './faults-report.js';
import { renderNotify } from './notify-report.js';
import { renderOpenLoop } from './open-loop-report.js';
import { renderSigning } from './signing-report.js';
import { renderSocial } from './social-report.js';
import { renderTelemetry } from './telemetry-report.js';

export type Renderer<N extends WorkloadName> = (section: Sections[N], results: SuiteResults) => Rendered;

export const RENDERERS: { [N in WorkloadName]: Renderer<N> } = {
  rpc: (section, results) => renderClosedLoop('rpc', section, results),
  baselines: (section, results) => renderClosedLoop('baselines', section, results),
  signing: renderSigning,
  telemetry: renderTelemetry,
  openloop: renderOpenLoop,
  social: renderSocial,
  notify: renderNotify,
  embedded: renderEmbedded,
  faults: renderFaults,
};

/** The sections of the workloads the run selected, rendered in the order they ran. */
export function renderSections(results: SuiteResults): Rendered[] {
  return results.settings.workloads.map((name) => renderSection(name, results));
}

function renderSection<N extends WorkloadName>(name: N, results: SuiteResults): Rendered {
  const section = results.sections[name];
  if (section === undefined) throw new Error(`workload ${name} produced no results`);
  return RENDERERS[name](section as Sections[N], results);
}
