/**
 * The report's RPC and baseline sections: one table per target (every call case at every
 * concurrency), each transport's ratio to its baseline beside its figures, and the two
 * closed-loop charts — throughput at concurrency 64 and the latency percentiles at 1.
 */
import { findCase, headlineLevels } from '../comparison.js';
import type { CaseResult, ClosedLoopSection, TargetResult } from '../results/closed-loop.js';
import type { Comparison } from '../results/comparison.js';
import type { Chart, Rendered } from '../results/rendered.js';
import type { SuiteResults } from '../results/suite-results.js';
import { BASELINE_OF, isBaseline } from '../targets/index.js';
import { ms, rate, ratio, spread } from './format.js';
import { TARGET_COLORS, barChart, lineChart } from './svg.js';

/** At or above this share of one core, the load generator was busy enough to cap what it measured. */
export const GENERATOR_BUSY_PERCENT = 90;

export function renderClosedLoop(
  which: 'rpc' | 'baselines',
  section: ClosedLoopSection,
  results: SuiteResults,
): Rendered {
  const { settings } = results;
  const lines: string[] = [];
  lines.push(which === 'rpc' ? '## RPC (closed loop)' : '## Baselines (bare libraries, closed loop)', '');
  lines.push(
    which === 'rpc'
      ? 'Each transport serving `echo` and `verify` through the real `Transport`, client and server in separate processes; with the baselines, each case runs on the transport and on its baseline in turn, seconds apart, so a drift in the machine’s speed moves both alike.'
      : 'The same cases on the bare library under each transport, in separate processes as well: the floor each transport is held to.',
  );
  lines.push(
    `Per case: ${settings.repetitions} repetition(s) of ${settings.durationMs / 1000} s after ${settings.warmupMs / 1000} s of warm-up; ` +
      'figures are medians, with (min–max) across repetitions where they differ. Latencies in ms. ' +
      'CPU µs/call is the CPU time of the load generator (with the client library) and of the server per answered call: ' +
      'unlike throughput it holds on a shared machine, so its ratio is the steadiest measure of overhead. ' +
      `† marks a case where the load generator used ≥ ${GENERATOR_BUSY_PERCENT}% of a core (it may have been the bottleneck).`,
    '',
  );
  const charts = which === 'rpc' || results.sections.rpc === undefined ? closedLoopCharts(results) : [];
  for (const chart of charts) lines.push(`![${chart.title}](${chart.file})`, '');
  for (const target of section.targets) {
    lines.push(...targetTable(target, which === 'rpc' ? results.comparison : []), '');
  }
  return { markdown: lines.join('\n'), charts };
}

function targetTable(target: TargetResult, comparison: Comparison): string[] {
  const lines = [`### ${target.target} — ${target.description}`, ''];
  if (target.error !== undefined) lines.push(`**Not measured: ${target.error}**`, '');
  if (target.cases.length === 0) return lines;
  const versus = comparison.find((c) => c.transport === target.target);
  const head = ['case', 'c', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'errors', 'CPU % client/server', 'CPU µs/call c/s'];
  if (versus) {
    const b = versus.baseline;
    head.push(`req/s ÷ ${b}`, `p50 ÷ ${b}`, `p99 ÷ ${b}`, `CPU/call ÷ ${b}`);
  }
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const c of target.cases) {
    const r = versus?.cases.find((v) => v.label === c.label && v.concurrency === c.concurrency);
    const cells = [
      c.label,
      String(c.concurrency),
      spread(c.median.throughput, c.min.throughput, c.max.throughput, rate),
      ms(c.median.p50),
      ms(c.median.p90),
      spread(c.median.p99, c.min.p99, c.max.p99, ms),
      ms(c.median.p999),
      errorsCell(c),
      `${Math.round(c.median.clientCpu)}/${Math.round(c.median.serverCpu)}${busy(c) ? ' †' : ''}`,
      `${Math.round(c.median.clientCpuPerCall)}/${Math.round(c.median.serverCpuPerCall)}`,
    ];
    if (versus) cells.push(ratio(r?.throughput), ratio(r?.p50), ratio(r?.p99), ratio(r?.cpuPerCall));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function errorsCell(c: CaseResult): string {
  const total = c.runs.reduce((n, r) => n + r.errors, 0);
  if (total === 0) return '0';
  const codes: Record<string, number> = {};
  for (const run of c.runs)
    for (const [code, n] of Object.entries(run.errorCodes)) codes[code] = (codes[code] ?? 0) + n;
  return `${total} (${Object.entries(codes)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')})`;
}

export function busy(c: CaseResult): boolean {
  return c.median.clientCpu >= GENERATOR_BUSY_PERCENT;
}

/** Both closed-loop sections' targets, each transport followed by its baseline. */
function closedLoopTargets(results: SuiteResults): TargetResult[] {
  const all = [...(results.sections.rpc?.targets ?? []), ...(results.sections.baselines?.targets ?? [])];
  return results.settings.transports
    .flatMap((t) => [all.find((x) => x.target === t), all.find((x) => x.target === BASELINE_OF[t])])
    .filter((t): t is TargetResult => t !== undefined);
}

function closedLoopCharts(results: SuiteResults): Chart[] {
  const levels = headlineLevels(results.settings);
  const targets = closedLoopTargets(results).filter((t) => t.cases.length > 0);
  if (targets.length === 0) return [];
  const labels = [...new Set(targets[0]!.cases.map((c) => c.label))];
  const throughput = barChart({
    title: `Throughput at concurrency ${levels.throughput} (median req/s)`,
    yLabel: 'requests per second',
    groups: labels,
    series: targets.map((t) => ({
      name: t.target,
      color: TARGET_COLORS[t.target] ?? '#888',
      values: labels.map(
        (l) => t.cases.find((c) => c.label === l && c.concurrency === levels.throughput)?.median.throughput,
      ),
    })),
  });
  const percentiles = ['p50', 'p90', 'p99', 'p999'] as const;
  const latency = lineChart({
    title: `Latency of echo 64 B at concurrency ${levels.latency} (median of repetitions)`,
    xLabel: 'percentile',
    yLabel: 'ms (log scale)',
    xCategories: ['p50', 'p90', 'p99', 'p99.9'],
    yLog: true,
    series: targets.flatMap((t) => {
      const c = findCase(t, 'echo', 64, levels.latency);
      if (c === undefined) return [];
      return [
        {
          name: t.target,
          color: TARGET_COLORS[t.target] ?? '#888',
          dashed: isBaseline(t.target),
          points: percentiles.map((p, i): [number, number] => [i, c.median[p]]),
        },
      ];
    }),
  });
  return [
    { file: 'rpc-throughput.svg', title: `Throughput at concurrency ${levels.throughput}`, svg: throughput },
    { file: 'rpc-latency.svg', title: `Latency percentiles at concurrency ${levels.latency}`, svg: latency },
  ];
}
