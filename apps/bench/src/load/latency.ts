/**
 * Latency recording: one HDR histogram per measured run (hdr-histogram-js), values in
 * microseconds, 3 significant digits — so p99.9 of a 30 µs call and of a 3 s stall are both
 * exact to 0.1%, and recording costs the same whatever the value. A run is summarised into
 * the percentiles the report shows; the histogram itself never leaves the load generator.
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** The percentiles every latency figure carries, as keys of `LatencySummary`. */
export const PERCENTILES = { p50: 50, p90: 90, p99: 99, p999: 99.9 } as const;
export type PercentileKey = keyof typeof PERCENTILES;

/** One run's latencies, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  maxMs: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** A minute: anything slower is recorded as a minute (and the deadline has long failed it). */
const HIGHEST_US = 60_000_000;

export class LatencyRecorder {
  readonly #histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  /** Record one latency given in milliseconds (performance.now() differences). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.#histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, us)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#histogram;
    const at = (p: number): number => (h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / 1000);
    return {
      count: h.totalCount,
      meanMs: h.totalCount === 0 ? 0 : h.mean / 1000,
      maxMs: h.maxValue / 1000,
      p50: at(PERCENTILES.p50),
      p90: at(PERCENTILES.p90),
      p99: at(PERCENTILES.p99),
      p999: at(PERCENTILES.p999),
    };
  }

  destroy(): void {
    this.#histogram.destroy();
  }
}
