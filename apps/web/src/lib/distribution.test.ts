import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BUCKETS, distribution, logEdges } from './distribution';

describe('a latency distribution', () => {
  it('takes percentiles by nearest rank', () => {
    const samples = Array.from({ length: 200 }, (_, i) => i + 1); // 1 … 200 ms
    const d = distribution(samples, logEdges(samples));
    expect(d).toMatchObject({ p50Ms: 100, p99Ms: 198, maxMs: 200, meanMs: 100.5 });
  });

  it('counts every sample once, on a log scale shared by two distributions', () => {
    const fast = [0.3, 0.31, 0.32, 0.5];
    const slow = [3, 3.1, 30];
    const edges = logEdges([...fast, ...slow]);
    expect(edges).toHaveLength(HISTOGRAM_BUCKETS + 1);
    expect(edges[0]).toBe(0.3);
    expect(edges.at(-1)).toBe(30);
    const [a, b] = [distribution(fast, edges), distribution(slow, edges)];
    expect(a.histogram.reduce((x, y) => x + y)).toBe(4);
    expect(b.histogram.reduce((x, y) => x + y)).toBe(3);
    // 0.3 … 30 ms is a factor of 100 over 24 bars: the fast ones fill the first bars, the slow the last.
    expect(a.histogram.findLastIndex((n) => n > 0)).toBeLessThan(b.histogram.findIndex((n) => n > 0));
    expect(a.histogram[0]).toBe(3);
    expect(b.histogram.at(-1)).toBe(1);
  });

  it('is empty, not wrong, without samples', () => {
    expect(logEdges([])).toEqual([]);
    expect(distribution([], [])).toEqual({ p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0, histogram: [] });
  });
});
