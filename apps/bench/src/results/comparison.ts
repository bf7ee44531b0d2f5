/**
 * The shape of results.json's comparison: each transport against its own bare baseline, case
 * by case, and whether the headline case meets the bar (comparison.ts computes it).
 */
import type { TransportKind } from '@chirp/transport';
import type { BaselineName } from '../targets/target.js';

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
