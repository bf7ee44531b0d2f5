/**
 * Each transport against its own bare baseline, case by case: throughput ratio (1.0 = as
 * fast as the bare library) and latency ratios (1.0 = no slower). The bar for the
 * transport layer is checked on the headline case — the 64 B echo: throughput at
 * concurrency 64 at least 85% of the baseline's, p99 at concurrency 1 at most 1.3× it.
 */
import type { Settings } from './settings.js';
import { BASELINE_OF, type BaselineName } from './targets/index.js';
import type { TransportKind } from '@chirp/transport';
import { findCase, type ClosedLoopSection } from './workloads/closed-loop-workload.js';

export const HEADLINE_CASE = { call: 'echo', payloadBytes: 64 } as const;
export const THROUGHPUT_TARGET = 0.85;
export const P99_TARGET = 1.3;

export interface CaseRatio {
  label: string;
  concurrency: number;
  /** transport ÷ baseline, medians. */
  throughput: number;
  p50: number;
  p99: number;
  /** CPU time per call, load generator + server, transport ÷ baseline: the overhead that survives a busy machine. */
  cpuPerCall: number;
}

export interface TransportComparison {
  transport: TransportKind;
  baseline: BaselineName;
  cases: CaseRatio[];
  /** Headline: throughput ratio at the throughput concurrency, p99 ratio at the latency one. */
  throughputRatio: number | undefined;
  p99Ratio: number | undefined;
  /** CPU per call ratio at the throughput concurrency. */
  cpuPerCallRatio: number | undefined;
  meetsThroughputTarget: boolean | undefined;
  meetsP99Target: boolean | undefined;
}

export type Comparison = TransportComparison[];

/** The concurrency levels the headline reads: 1 (or the lowest run) and 64 (or the highest). */
export function headlineLevels(settings: Settings): { latency: number; throughput: number } {
  const levels = settings.concurrency;
  return {
    latency: Math.min(...levels),
    throughput: levels.includes(64) ? 64 : Math.max(...levels),
  };
}

export function compare(
  settings: Settings,
  rpc: ClosedLoopSection | undefined,
  baselines: ClosedLoopSection | undefined,
): Comparison {
  if (rpc === undefined || baselines === undefined) return [];
  const levels = headlineLevels(settings);
  const comparison: Comparison = [];
  for (const transport of rpc.targets) {
    const kind = transport.target as TransportKind;
    const base = baselines.targets.find((b) => b.target === BASELINE_OF[kind]);
    if (base === undefined) continue;
    const cases: CaseRatio[] = [];
    for (const t of transport.cases) {
      const b = findCase(base, t.call, t.payloadBytes, t.concurrency);
      if (b === undefined) continue;
      cases.push({
        label: t.label,
        concurrency: t.concurrency,
        throughput: t.median.throughput / b.median.throughput,
        p50: t.median.p50 / b.median.p50,
        p99: t.median.p99 / b.median.p99,
        cpuPerCall:
          (t.median.clientCpuPerCall + t.median.serverCpuPerCall) /
          (b.median.clientCpuPerCall + b.median.serverCpuPerCall),
      });
    }
    const at = (c: number) => cases.find((r) => r.label === 'echo 64 B' && r.concurrency === c);
    const throughputRatio = at(levels.throughput)?.throughput;
    const p99Ratio = at(levels.latency)?.p99;
    comparison.push({
      transport: kind,
      baseline: BASELINE_OF[kind],
      cases,
      throughputRatio,
      p99Ratio,
      cpuPerCallRatio: at(levels.throughput)?.cpuPerCall,
      meetsThroughputTarget: throughputRatio === undefined ? undefined : throughputRatio >= THROUGHPUT_TARGET,
      meetsP99Target: p99Ratio === undefined ? undefined : p99Ratio <= P99_TARGET,
    });
  }
  return comparison;
}
