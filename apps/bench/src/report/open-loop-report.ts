/**
 * The report's open-loop section: each target's max sustainable rate, every step it took,
 * and a chart of p99 against the offered rate with the limit drawn in.
 */
import type { OpenLoopFigures } from '../load/open-loop.js';
import type { OpenLoopSection } from '../results/open-loop.js';
import type { Rendered } from '../results/rendered.js';
import { bytes, ms, percent, rate } from './format.js';
import { TARGET_COLORS, lineChart } from './svg.js';
import { isBaseline } from '../targets/index.js';

export function renderOpenLoop(section: OpenLoopSection): Rendered {
  const lines = [
    '## Open loop (max sustainable rate)',
    '',
    `Echo ${bytes(section.payloadBytes)} at Poisson arrivals, the rate raised step by step; each call's latency counts from ` +
      `its intended send time (no coordinated omission). The rate doubles while it holds, then is bisected; a failing rate is run again and fails only if it fails twice. A rate is sustainable while p99 ≤ ${section.p99LimitMs} ms with no errors. ` +
      'Send lag is how late the load generator itself sent calls (its timers tick in whole milliseconds); it is included in the latencies.',
    '',
  ];
  const steps = section.targets.filter((t) => t.steps.length > 0);
  const chart = lineChart({
    title: `p99 latency against offered rate (echo ${bytes(section.payloadBytes)})`,
    xLabel: 'offered calls per second (log scale)',
    yLabel: 'p99 ms (log scale)',
    xLog: true,
    yLog: true,
    limit: { value: section.p99LimitMs, label: `limit ${section.p99LimitMs} ms` },
    series: steps.map((t) => ({
      name: t.target,
      color: TARGET_COLORS[t.target] ?? '#888',
      dashed: isBaseline(t.target),
      points: byRate(t.steps).map((s): [number, number] => [s.rate, Math.max(s.p99, 0.001)]),
    })),
  });
  const charts =
    steps.length > 0 ? [{ file: 'openloop-p99.svg', title: 'Open loop p99 against rate', svg: chart }] : [];
  for (const c of charts) lines.push(`![${c.title}](${c.file})`, '');
  lines.push('| target | max sustainable rate (calls/s) | stopped because |', '| --- | ---: | --- |');
  for (const t of section.targets) {
    const max = t.maxSustainableRate === null ? 'none' : rate(t.maxSustainableRate);
    lines.push(`| ${t.target} | ${max} | ${t.error ?? t.stoppedBecause} |`);
  }
  lines.push('', '<details><summary>Every step</summary>', '');
  lines.push(
    '| target | offered/s | answered/s | p50 | p99 | p99.9 | errors | send lag p99 | CPU client | CPU server |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of section.targets) {
    for (const s of byRate(t.steps)) {
      lines.push(
        `| ${t.target} | ${rate(s.rate)} | ${rate(s.throughput)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p999)} | ${s.errors} | ${ms(s.sendLagP99)} | ${percent(s.clientCpu)} | ${percent(s.serverCpu)} |`,
      );
    }
  }
  lines.push('', '</details>', '');
  return { markdown: lines.join('\n'), charts };
}

function byRate(steps: OpenLoopFigures[]): OpenLoopFigures[] {
  return [...steps].sort((a, b) => a.rate - b.rate);
}
