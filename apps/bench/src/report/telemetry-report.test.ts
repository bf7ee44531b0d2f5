import { describe, expect, it } from 'vitest';
import { summarise, type RunFigures } from '../load/run.js';
import type { TelemetrySection } from '../results/telemetry.js';
import { renderTelemetry } from './telemetry-report.js';

/** One repetition's run: `throughput` calls/s at `cpuPerCall` µs (load generator and server halves). */
function run(throughput: number, cpuPerCall: number): RunFigures {
  return {
    throughput,
    errors: 0,
    errorCodes: {},
    clientCpu: 90,
    serverCpu: 90,
    clientCpuPerCall: cpuPerCall / 2,
    serverCpuPerCall: cpuPerCall / 2,
    count: throughput,
    p50: 1,
    p90: 2,
    p99: 3,
    p999: 4,
    meanMs: 1,
    maxMs: 5,
  };
}

describe('telemetry report', () => {
  it('gives Δ as the median of each repetition’s on/off ratio with their range, not the ratio of medians', () => {
    // The machine slowed in the second repetition and sped up in the third: off 100k, 50k, 80k.
    const off = [run(100_000, 20), run(50_000, 40), run(80_000, 25)];
    const on = [run(90_000, 22), run(60_000, 40), run(40_000, 50)];
    const section: TelemetrySection = {
      payloadBytes: 64,
      spansExported: 1234,
      errors: {},
      cases: [
        { transport: 'tcp', mode: 'off', concurrency: 64, ...summarise(off), collectorCpu: [0, 1, 0] },
        { transport: 'tcp', mode: 'sampled', concurrency: 64, ...summarise(on), collectorCpu: [7, 9, 8] },
      ],
    };
    const { markdown } = renderTelemetry(section);
    // Ratios 0.9, 1.2, 0.5: median −10 % (the medians' ratio, 60k / 80k, would say −25 %).
    // CPU 1.1, 1.0, 2.0: median +10 %.
    expect(markdown).toContain(
      '| tcp | 64 | on, 1 in 100 traced | 60,000 | -10% (-50%…20%) | 3.00 | 40 | 10% (0%…100%) | 8 |',
    );
    expect(markdown).toContain('| tcp | 64 | off | 80,000 | – | 3.00 | 25 | – | 0 |');
  });

  it('falls back to the ratio of medians when a repetition is missing on one side', () => {
    const section: TelemetrySection = {
      payloadBytes: 64,
      spansExported: 0,
      errors: {},
      cases: [
        { transport: 'udp', mode: 'off', concurrency: 64, ...summarise([run(100, 10), run(80, 10)]) },
        { transport: 'udp', mode: 'untraced', concurrency: 64, ...summarise([run(45, 10)]) },
      ],
    };
    expect(renderTelemetry(section).markdown).toContain('| udp | 64 | on, none traced | 45 | -50% |');
  });
});
