/**
 * report.md: what was run and where, the headline table (per transport: small-RPC latency
 * at concurrency 1, throughput at 64, the ratio to its bare baseline, the open-loop max
 * rate), the notes a reader must not miss (load generator saturated, targets missed,
 * failures), then each workload's own section.
 */
import { P99_TARGET, THROUGHPUT_TARGET, findCase, headlineLevels } from '../comparison.js';
import type { CaseResult, TargetResult } from '../results/closed-loop.js';
import type { Rendered } from '../results/rendered.js';
import type { SocialMode } from '../results/social.js';
import type { SuiteResults } from '../results/suite-results.js';
import { BASELINE_OF } from '../targets/index.js';
import { stackCpuPerRequest, transportShare } from './social-report.js';
import { GENERATOR_BUSY_PERCENT, busy } from './closed-loop-report.js';
import { ms, percent, rate, ratio } from './format.js';

export function buildReport(results: SuiteResults, sections: Rendered[]): string {
  const { machine, settings } = results;
  const lines = [
    `# Chirp benchmark — ${results.startedAt}`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.os}; ` +
      `Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'not reached'}; ` +
      Object.entries(machine.packages)
        .map(([name, version]) => `${name} ${version ?? '?'}`)
        .join(', ') +
      '.',
    '',
    `Run: ${settings.quick ? '**--quick** (figures for a smoke check, not for citing), ' : ''}` +
      `workloads ${settings.workloads.join(', ')}; transports ${settings.transports.join(', ')}; ` +
      `${settings.durationMs / 1000} s per case after ${settings.warmupMs / 1000} s warm-up, ${settings.repetitions} repetition(s); ` +
      `from ${results.startedAt} to ${results.finishedAt}. Every figure and setting is in [results.json](results.json).` +
      (results.harness === undefined
        ? ''
        : ` The load generator's own cost (harness, no transport): ${results.harness.cpuPerCallUs.toFixed(1)} µs CPU per call.`),
    '',
    ...headline(results),
    ...notes(results),
    ...sections.map((s) => s.markdown),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

function headline(results: SuiteResults): string[] {
  const levels = headlineLevels(results.settings);
  const rpc = results.sections.rpc?.targets ?? [];
  const baselines = results.sections.baselines?.targets ?? [];
  const open = results.sections.openloop?.targets ?? [];
  const social = results.sections.social?.targets ?? [];
  if (rpc.length === 0 && baselines.length === 0 && open.length === 0 && social.length === 0) return [];
  const lines = [
    '## Headline',
    '',
    `Small RPC = echo 64 B. Latency at concurrency ${levels.latency}, throughput at ${levels.throughput}, medians. ` +
      `Bar for each transport: throughput ≥ ${THROUGHPUT_TARGET}× its baseline's, p99 ≤ ${P99_TARGET}× its baseline's. ` +
      `CPU/call ÷ baseline (at c=${levels.throughput}, load generator + server) is the overhead that a busy machine does not distort. ` +
      'Social mix: the whole application, through the web API and straight to the services, the highest request rate whose p99 ' +
      'stays in bounds; the stack CPU per request there (every process, PostgreSQL and RabbitMQ included); and the share of a ' +
      "request's time spent in transport (see its section).",
    '',
    `| target | p50 ms (c=${levels.latency}) | p99 ms (c=${levels.latency}) | req/s (c=${levels.throughput}) | req/s ÷ baseline | p99 ÷ baseline | CPU/call ÷ baseline | max sustainable rate/s | social max req/s (web; direct) | stack CPU ms/request (web; direct) | transport share (web; direct) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const row = (t: TargetResult | undefined, name: string, label: string, extra: string[]): string => {
    const lat = findCase(t, 'echo', 64, levels.latency);
    const thr = findCase(t, 'echo', 64, levels.throughput);
    const max = open.find((o) => o.target === name)?.maxSustainableRate;
    const stack = social.find((s) => s.transport === name);
    const both = (show: (mode: SocialMode) => string) => (stack ? `${show(stack.web)}; ${show(stack.direct)}` : '–');
    const cells = [
      label,
      lat ? ms(lat.median.p50) : '–',
      lat ? ms(lat.median.p99) : '–',
      thr ? `${rate(thr.median.throughput)}${busy(thr) ? ' †' : ''}` : '–',
      ...extra,
      max === undefined ? '–' : max === null ? 'none' : rate(max),
      both((m) => (m.maxSustainableRate === null ? 'none' : rate(m.maxSustainableRate))),
      both((m) => {
        const us = stackCpuPerRequest(m);
        return us === undefined ? '–' : (us / 1000).toFixed(2);
      }),
      both((m) => {
        const share = transportShare(m);
        return share === undefined ? '–' : percent(share * 100);
      }),
    ];
    return `| ${cells.join(' | ')} |`;
  };
  const measured = new Set<string>([
    ...[...rpc, ...baselines, ...open].map((t) => t.target),
    ...social.map((s) => s.transport),
  ]);
  const mark = (ok: boolean | undefined): string => (ok === undefined ? '' : ok ? ' ✓' : ' ✗');
  for (const transport of results.settings.transports) {
    if (!measured.has(transport)) continue;
    const c = results.comparison.find((x) => x.transport === transport);
    const label = `**${transport}**${c ? ` (vs ${c.baseline})` : ''}`;
    const ratios = [
      `${ratio(c?.throughputRatio)}${mark(c?.meetsThroughputTarget)}`,
      `${ratio(c?.p99Ratio)}${mark(c?.meetsP99Target)}`,
      ratio(c?.cpuPerCallRatio),
    ];
    lines.push(
      row(
        rpc.find((t) => t.target === transport),
        transport,
        label,
        ratios,
      ),
    );
  }
  if (measured.has('mixed')) lines.push(row(undefined, 'mixed', '**mixed**', ['', '', '']));
  for (const name of results.settings.transports.map((t) => BASELINE_OF[t])) {
    if (!measured.has(name)) continue;
    lines.push(
      row(
        baselines.find((b) => b.target === name),
        name,
        `${name} (baseline)`,
        ['', '', ''],
      ),
    );
  }
  lines.push(
    '',
    `† the load generator used ≥ ${GENERATOR_BUSY_PERCENT}% of a core: the figure may be capped by it.`,
    '',
  );
  return lines;
}

function notes(results: SuiteResults): string[] {
  const found: string[] = [];
  const { machine } = results;
  if ((machine.loadAverage[0] ?? 0) > machine.cores * 0.5) {
    found.push(
      `The machine was already busy when the run started (load average ${machine.loadAverage.join(', ')} on ${machine.cores} cores): every figure is pessimistic.`,
    );
  }
  const closed: [string, TargetResult][] = [
    ...(results.sections.rpc?.targets ?? []).map((t): [string, TargetResult] => ['rpc', t]),
    ...(results.sections.baselines?.targets ?? []).map((t): [string, TargetResult] => ['baselines', t]),
  ];
  for (const [section, t] of closed) if (t.error) found.push(`${section} ${t.target} not (fully) measured: ${t.error}`);
  for (const t of results.sections.openloop?.targets ?? [])
    if (t.error) found.push(`open loop ${t.target}: ${t.error}`);
  const saturated = closed.flatMap(([, t]) => t.cases.filter(busy).map((c): [string, CaseResult] => [t.target, c]));
  if (saturated.length > 0) {
    const named = saturated.map(([t, c]) => `${t} ${c.label} c=${c.concurrency} (${percent(c.median.clientCpu)})`);
    let why = '';
    if (results.harness !== undefined) {
      const harness = results.harness.cpuPerCallUs;
      const share = Math.max(...saturated.map(([, c]) => harness / Math.max(1e-9, c.median.clientCpuPerCall)));
      why =
        `That process runs the target's client library as well as the harness, and the harness alone costs ` +
        `${harness.toFixed(1)} µs CPU per call (at most ${percent(share * 100)} of the client CPU per call in these cases): ` +
        'it is mostly the client library that saturated. ';
    }
    found.push(
      `The load generator used ≥ ${GENERATOR_BUSY_PERCENT}% of a core in ${saturated.length} case(s): there the client side was the bottleneck. ` +
        `${why}Cases: ${named.slice(0, 12).join('; ')}${named.length > 12 ? '; …' : ''}.`,
    );
  }
  for (const c of results.comparison) {
    if (c.meetsThroughputTarget === false) {
      found.push(
        `${c.transport} misses the throughput bar: ${ratio(c.throughputRatio)} of ${c.baseline}'s (bar ≥ ${THROUGHPUT_TARGET}×).`,
      );
    }
    if (c.meetsP99Target === false) {
      found.push(
        `${c.transport} misses the latency bar: p99 ${ratio(c.p99Ratio)} of ${c.baseline}'s (bar ≤ ${P99_TARGET}×).`,
      );
    }
  }
  if (found.length === 0) return [];
  return ['## Notes', '', ...found.map((n) => `- ${n}`), ''];
}
