/**
 * The report's social-mix section: how the network was made and what the mix is, the max
 * sustainable rate per transport, the closed-loop throughput, p50/p99 per request kind, errors
 * by kind, and every process's CPU; charts of the max rates, of p99 against offered rate, and
 * of closed-loop throughput.
 */
import type { KindFigures } from '../load/by-kind.js';
import { spreadOf } from '../load/run.js';
import type { StackProcessName } from '../stack/stack.js';
import type { SocialSection, SocialStep, SocialTarget, StackCpu } from '../workloads/social.js';
import type { Chart, Rendered, SuiteResults } from '../workloads/workload.js';
import { GENERATOR_BUSY_PERCENT } from './closed-loop-report.js';
import { ms, percent, rate, spread } from './format.js';
import { TARGET_COLORS, barChart, lineChart } from './svg.js';

const PROCESSES: StackProcessName[] = ['web', 'auth', 'posts', 'follows', 'notify'];

export function renderSocial(section: SocialSection, results: SuiteResults): Rendered {
  const measured = section.targets.filter((t) => t.error === undefined || t.steps.length > 0);
  const charts = socialCharts(section, measured);
  const shares = Object.entries(section.shares)
    .map(([kind, share]) => `${kind} ${+(share * 100).toFixed(1)}%`)
    .join(', ');
  const seed = section.targets.find((t) => t.seed !== undefined)?.seed;
  const lines = [
    '## Social mix',
    '',
    `The whole application — auth, follows, posts, notify and the Next.js web app, each its own process, on PostgreSQL and RabbitMQ — ` +
      `on each transport, driven through the web app's JSON API with a Bearer token. ` +
      `Graph: ${section.users.toLocaleString('en-US')} users, each following ${section.followsPerUser} earlier users by preferential attachment ` +
      `(follower counts follow a power law${seed ? `: median ${seed.medianFollowers}, most ${seed.maxFollowers}` : ''}), and ${section.seedPosts} seed posts. ` +
      `Seeded through ${section.seededThrough} (not the web API: thousands of sign-ups through Next would take minutes per transport), bcrypt cost ${section.bcryptCost}; ` +
      'a fresh stack and databases per transport, the same seeded graph and mix on each.',
    '',
    `Mix (exact shares): ${shares}. The acting user, and whose page is read, are drawn by activity (Zipf, exponent 1). ` +
      `Max sustainable rate: the highest Poisson arrival rate whose p99 (from the intended send time) stays ≤ ${section.p99LimitMs} ms ` +
      `with < ${section.maxErrorShare * 100}% errors; the rate doubles, then is bisected, and a failing rate must fail twice.`,
    '',
    ...charts.map((c) => `![${c.title}](${c.file})\n`),
    '| transport | max sustainable rate (req/s) | stopped because | seeding s | time s |',
    '| --- | ---: | --- | ---: | ---: |',
    ...section.targets.map((t) => {
      const max = t.maxSustainableRate === null ? 'none' : rate(t.maxSustainableRate);
      return `| ${t.transport} | ${max} | ${t.error ? `failed: ${firstLine(t.error)}` : t.stoppedBecause} | ${t.seed ? t.seed.seconds.toFixed(1) : '–'} | ${t.seconds.toFixed(0)} |`;
    }),
    '',
    ...closedLoopTable(section.targets, results.settings.repetitions),
    ...kindTable(section.targets),
    ...cpuTable(section.targets),
    ...errorList(section.targets),
    ...stepsTable(section.targets),
  ];
  return { markdown: lines.join('\n'), charts };
}

/** The open-loop step a figure is quoted from: the highest rate that held (else the lowest tried). */
export function quotedStep(t: SocialTarget): SocialStep | undefined {
  const byRate = [...t.steps].sort((a, b) => a.rate - b.rate);
  return byRate.filter((s) => s.rate === t.maxSustainableRate).at(-1) ?? byRate[0];
}

function closedLoopTable(targets: SocialTarget[], repetitions: number): string[] {
  const lines = [
    `### Closed loop (median of ${repetitions} repetition(s), min–max)`,
    '',
    '| transport | concurrency | req/s | p50 ms | p99 ms | errors | CPU load generator | CPU stack (all processes) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    for (const c of t.closedLoop) {
      const m = c.median;
      const busy = m.clientCpu >= GENERATOR_BUSY_PERCENT ? ' †' : '';
      lines.push(
        `| ${t.transport} | ${c.concurrency} | ${spread(m.throughput, c.min.throughput, c.max.throughput, rate)}${busy} | ` +
          `${spread(m.p50, c.min.p50, c.max.p50, ms)} | ${spread(m.p99, c.min.p99, c.max.p99, ms)} | ${m.errors} | ` +
          `${percent(m.clientCpu)} | ${percent(m.serverCpu)} |`,
      );
    }
  }
  lines.push(
    '',
    `† the load generator used ≥ ${GENERATOR_BUSY_PERCENT}% of a core: the figure may be capped by it.`,
    '',
  );
  return lines;
}

/** p50/p99 by request kind: at the highest closed-loop concurrency (median over repetitions) and at the max sustainable rate. */
function kindTable(targets: SocialTarget[]): string[] {
  const lines = [
    '### Latency by request kind',
    '',
    'Closed loop at its highest concurrency (median over repetitions), and open loop at the max sustainable rate (from the intended send time).',
    '',
    '| transport | kind | closed p50 ms | closed p99 ms | open req/s | open p50 ms | open p99 ms | open errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    const closed = t.closedLoop.at(-1);
    const open = quotedStep(t);
    const kinds = new Set([
      ...Object.keys(open?.byKind ?? {}),
      ...(closed?.runs ?? []).flatMap((r) => Object.keys(r.byKind ?? {})),
    ]);
    for (const kind of [...kinds].sort()) {
      const runs = (closed?.runs ?? []).map((r) => r.byKind?.[kind]).filter((k): k is KindFigures => k !== undefined);
      const median = (key: 'p50' | 'p99'): string => (runs.length ? ms(spreadOf(runs.map((r) => r[key])).median) : '–');
      const o = open?.byKind?.[kind];
      lines.push(
        `| ${t.transport} | ${kind} | ${median('p50')} | ${median('p99')} | ${o ? rate(o.throughput) : '–'} | ${o ? ms(o.p50) : '–'} | ${o ? ms(o.p99) : '–'} | ${o?.errors ?? '–'} |`,
      );
    }
  }
  lines.push('');
  return lines;
}

function cpuTable(targets: SocialTarget[]): string[] {
  const lines = [
    '### CPU by process',
    '',
    "% of one core over the measured window at the max sustainable rate (open loop), from /proc; the machine's cores are shared by all of them, PostgreSQL and RabbitMQ.",
    '',
    `| transport | req/s | load generator | ${PROCESSES.join(' | ')} | µs CPU per request (stack) |`,
    `| --- | ---: | ---: | ${PROCESSES.map(() => '---:').join(' | ')} | ---: |`,
  ];
  for (const t of targets) {
    const step = quotedStep(t);
    if (step === undefined) continue;
    const cpu: StackCpu = step.stackCpu;
    lines.push(
      `| ${t.transport} | ${rate(step.throughput)} | ${percent(step.clientCpu)} | ${PROCESSES.map((p) => (cpu[p] === undefined ? '–' : percent(cpu[p]))).join(' | ')} | ${Math.round(step.serverCpuPerCall)} |`,
    );
  }
  lines.push('');
  return lines;
}

function errorList(targets: SocialTarget[]): string[] {
  const lines: string[] = [];
  for (const t of targets) {
    const counts: Record<string, number> = {};
    const runs = [...t.closedLoop.flatMap((c) => c.runs), ...t.steps];
    for (const run of runs) {
      for (const [kind, figures] of Object.entries(run.byKind ?? {})) {
        for (const [code, n] of Object.entries(figures.errorCodes))
          counts[`${kind}: ${code}`] = (counts[`${kind}: ${code}`] ?? 0) + n;
      }
    }
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (entries.length > 0) lines.push(`- **${t.transport}**: ${entries.map(([k, n]) => `${k} × ${n}`).join('; ')}`);
  }
  if (lines.length === 0) return ['### Errors by kind', '', 'None in any run.', ''];
  return [
    '### Errors by kind',
    '',
    'Every run (closed and open loop, overloaded steps included), by request kind and code:',
    '',
    ...lines,
    '',
  ];
}

function stepsTable(targets: SocialTarget[]): string[] {
  const lines = [
    '<details><summary>Every open-loop step</summary>',
    '',
    '| transport | offered/s | answered/s | p50 | p99 | p99.9 | errors | send lag p99 | CPU load generator | CPU stack |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    for (const s of [...t.steps].sort((a, b) => a.rate - b.rate)) {
      lines.push(
        `| ${t.transport} | ${rate(s.rate)} | ${rate(s.throughput)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p999)} | ${s.errors} | ${ms(s.sendLagP99)} | ${percent(s.clientCpu)} | ${percent(s.serverCpu)} |`,
      );
    }
  }
  lines.push('', '</details>', '');
  return lines;
}

function socialCharts(section: SocialSection, measured: SocialTarget[]): Chart[] {
  if (measured.length === 0) return [];
  const color = (t: SocialTarget): string => TARGET_COLORS[t.transport] ?? '#888';
  const maxRates = barChart({
    title: 'Social mix: max sustainable rate',
    yLabel: 'requests per second',
    groups: ['max sustainable rate'],
    series: measured.map((t) => ({ name: t.transport, color: color(t), values: [t.maxSustainableRate ?? 0] })),
  });
  const p99 = lineChart({
    title: 'Social mix: p99 against offered rate',
    xLabel: 'offered requests per second (log scale)',
    yLabel: 'p99 ms (log scale)',
    xLog: true,
    yLog: true,
    limit: { value: section.p99LimitMs, label: `limit ${section.p99LimitMs} ms` },
    series: measured
      .filter((t) => t.steps.length > 0)
      .map((t) => ({
        name: t.transport,
        color: color(t),
        points: [...t.steps]
          .sort((a, b) => a.rate - b.rate)
          .map((s): [number, number] => [s.rate, Math.max(s.p99, 0.001)]),
      })),
  });
  const levels = [...new Set(measured.flatMap((t) => t.closedLoop.map((c) => c.concurrency)))].sort((a, b) => a - b);
  const throughput = barChart({
    title: 'Social mix: closed-loop throughput',
    yLabel: 'requests per second',
    groups: levels.map((c) => `c=${c}`),
    series: measured.map((t) => ({
      name: t.transport,
      color: color(t),
      values: levels.map((c) => t.closedLoop.find((x) => x.concurrency === c)?.median.throughput),
    })),
  });
  return [
    { file: 'social-max-rate.svg', title: 'Social mix max sustainable rate', svg: maxRates },
    { file: 'social-p99.svg', title: 'Social mix p99 against offered rate', svg: p99 },
    { file: 'social-throughput.svg', title: 'Social mix closed-loop throughput', svg: throughput },
  ];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
