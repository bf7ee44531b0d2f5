/**
 * A latency distribution in a few figures and a histogram, for the transport comparison
 * (compare.ts): percentiles by nearest rank, bars on a log scale that several distributions share,
 * so a 0.3 ms transport and a 3 ms one can be drawn side by side.
 */

/** Bars per histogram. */
export const HISTOGRAM_BUCKETS = 24;

export interface Distribution {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** How many samples fell in each bucket of the edges it was made with. */
  histogram: number[];
}

/** HISTOGRAM_BUCKETS + 1 edges, geometric, from the smallest sample to the largest (none without samples). */
export function logEdges(samples: readonly number[]): number[] {
  if (samples.length === 0) return [];
  const low = Math.max(0.001, Math.min(...samples));
  const high = Math.max(low * 1.01, Math.max(...samples));
  const ratio = (high / low) ** (1 / HISTOGRAM_BUCKETS);
  return Array.from({ length: HISTOGRAM_BUCKETS + 1 }, (_, i) => (i === HISTOGRAM_BUCKETS ? high : low * ratio ** i));
}

/** `samples` summed up, counted into the buckets between `edges` (bucket i: above edge i, up to edge i + 1). */
export function distribution(samples: readonly number[], edges: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const histogram = new Array<number>(Math.max(0, edges.length - 1)).fill(0);
  let bucket = 0;
  for (const sample of sorted) {
    while (bucket < histogram.length - 1 && sample > edges[bucket + 1]!) bucket++;
    histogram[bucket]!++;
  }
  return {
    p50Ms: rank(0.5),
    p99Ms: rank(0.99),
    meanMs: sorted.length === 0 ? 0 : sorted.reduce((sum, s) => sum + s, 0) / sorted.length,
    maxMs: sorted.at(-1) ?? 0,
    histogram,
  };
}
