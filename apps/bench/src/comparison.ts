/**
 * Each transport against its own bare baseline, case by case: throughput ratio (1.0 = as
 * fast as the bare library) and latency ratios (1.0 = no slower). The bar for the
 * transport layer is checked on the headline case — the 64 B echo: throughput at
 * concurrency 64 at least 85% of the baseline's, p99 at concurrency 1 at most 1.3× it.
 * The workloads and the report both read the headline levels and the bar from here.
 */
import type { TransportKind } from '@chirp/transport';
import type { CaseResult, ClosedLoopSection, TargetResult } from './results/closed-loop.js';
import type { CaseRatio, Comparison } from './results/comparison.js';
import type { Settings } from './settings.js';
import { BASELINE_OF } from './targets/index.js';
import type { CallName } from './targets/target.js';

export const HEADLINE_CASE = { call: 'echo', payloadBytes: 64 } as const;
export const THROUGHPUT_TARGET = 0.85;
export const P99_TARGET = 1.3;

/** The concurrency levels the headline reads: 1 (or the lowest run) and 64 (or the highest). */
export function headlineLevels(settings: Settings): { latency: number; throughput: number } {
  const levels = settings.concurrency;
  return {
    latency: Math.min(...levels),
    throughput: levels.includes(64) ? 64 : Math.max(...levels),
  };
}

/** Find one case's result: `call` and size, at `concurrency`. */
export function findCase(
  target: TargetResult | undefined,
  call: CallName,
  payloadBytes: number | undefined,
  concurrency: number,
): CaseResult | undefined {
  return target?.cases.find(
    (c) =>
      c.call === call &&
      c.concurrency === concurrency &&
      (payloadBytes === undefined || c.payloadBytes === payloadBytes),
  );
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
