/**
 * The report's social-mix section: how the network was made and what the mix is; for each way of
 * driving it (through the web API, straight to the services) the max sustainable rate per
 * transport, where each kind of request's time went (and how much of it was transport), the
 * closed-loop throughput, p50/p99 per request kind, and every process's CPU per request; charts
 * of the max rates, of the breakdown (stacked, one per transport), and of p99 against offered rate.
 */
import type { KindFigures } from '../load/by-kind.js';
import { spreadOf } from '../load/run.js';
import type { StackProcessName } from '../stack/stack.js';
import type { Chart, Rendered } from '../results/rendered.js';
import {
  SOCIAL_MODES,
  type KindBreakdown,
  type SocialModeName,
  type SocialMode,
  type SocialSection,
  type SocialStep,
  type SocialTarget,
} from '../results/social.js';
import type { SuiteResults } from '../results/suite-results.js';
import { GENERATOR_BUSY_PERCENT } from './closed-loop-report.js';
import { ms, percent, rate, spread } from './format.js';
import { TARGET_COLORS, barChart, lineChart, stackedBarChart } from './svg.js';

export const STACK_PROCESSES: StackProcessName[] = [
  'web',
  'auth',
  'posts',
  'follows',
  'notify',
  'postgres',
  'rabbitmq',
];

const MODE_TITLES: Record<SocialModeName, string> = {
  web: 'through the web API',
  direct: 'straight to the services',
};

const PARTS = [
  { key: 'edgeMs', name: 'web tier (or the caller)', color: '#9e9e9e' },
  { key: 'transportMs', name: 'transport', color: '#d62728' },
  { key: 'handlerMs', name: 'handlers', color: '#1f77b4' },
  { key: 'databaseMs', name: 'database', color: '#e6b800' },
] as const;

export function renderSocial(section: SocialSection, results: SuiteResults): Rendered {
  const measured = section.targets.filter((t) => SOCIAL_MODES.some((m) => t[m].steps.length > 0));
  const charts = [...rateCharts(section, measured), ...breakdownCharts(measured)];
  const shares = Object.entries(section.shares)
    .map(([kind, share]) => `${kind} ${+(share * 100).toFixed(1)}%`)
    .join(', ');
  const seed = section.targets.find((t) => t.seed !== undefined)?.seed;
  const lines = [
    '## Social mix',
    '',
    `The whole application — auth, follows, posts, notify and the web app, each its own process, on PostgreSQL and RabbitMQ — ` +
      `on each transport, driven two ways with the same mix and graph: through the web app's JSON API with a Bearer token (what a user sees), ` +
      `and straight to the services through their typed clients (what the transports carry: the same service calls the web app makes for ` +
      `each kind of request, without its session check). ` +
      `Graph: ${section.users.toLocaleString('en-US')} users, each following ${section.followsPerUser} earlier users by preferential attachment ` +
      `(follower counts follow a power law${seed ? `: median ${seed.medianFollowers}, most ${seed.maxFollowers}` : ''}), and ${section.seedPosts} seed posts. ` +
      `Seeded through ${section.seededThrough} (sign-up is not what is measured), bcrypt cost ${section.bcryptCost}; ` +
      'a fresh stack and databases per transport, the same seeded graph and mix on each.',
    '',
    `Mix (exact shares): ${shares}. The acting user, and whose page is read, are drawn by activity (Zipf, exponent 1). ` +
      `Max sustainable rate: the highest Poisson arrival rate whose p99 (from the intended send time) stays ≤ ${section.p99LimitMs} ms ` +
      `with < ${section.maxErrorShare * 100}% errors; the rate doubles, then is bisected, and a failing rate must fail twice. ` +
      'Where the time goes: from the traces of about 400 requests of an open-loop run at a quarter of the max sustainable rate, ' +
      'where little queueing hides what each part costs (the load generator sets the sampled flag on those; every process follows ' +
      'it and exports its spans over OTLP to a collector process).',
    '',
    ...charts.filter((c) => c.file === 'social-max-rate.svg').map((c) => `![${c.title}](${c.file})\n`),
    ...maxRateTable(section.targets),
    ...breakdownTables(measured),
    ...charts.filter((c) => c.file.startsWith('social-breakdown')).map((c) => `![${c.title}](${c.file})\n`),
    ...cpuTable(section.targets),
    ...SOCIAL_MODES.flatMap((mode) => [
      `### ${capital(MODE_TITLES[mode])}`,
      '',
      ...closedLoopTable(section.targets, mode, results.settings.repetitions),
      ...kindTable(section.targets, mode),
      ...errorList(section.targets, mode),
      ...stepsTable(section.targets, mode),
    ]),
    ...charts.filter((c) => c.file.startsWith('social-p99')).map((c) => `![${c.title}](${c.file})\n`),
  ];
  return { markdown: lines.join('\n'), charts };
}

/** The open-loop step a figure is quoted from: the highest rate that held (else the lowest tried). */
export function quotedStep(mode: SocialMode): SocialStep | undefined {
  const byRate = [...mode.steps].sort((a, b) => a.rate - b.rate);
  return byRate.filter((s) => s.rate === mode.maxSustainableRate).at(-1) ?? byRate[0];
}

/** Stack CPU per request, µs, at the max sustainable rate: every process of the stack, PostgreSQL and RabbitMQ included. */
export function stackCpuPerRequest(mode: SocialMode): number | undefined {
  return quotedStep(mode)?.serverCpuPerCall;
}

/** The share of a request's time spent in transport, over every sampled request of the mix. */
export function transportShare(mode: SocialMode): number | undefined {
  const total = mode.breakdown.reduce((sum, k) => sum + k.totalMs * k.traces, 0);
  const transport = mode.breakdown.reduce((sum, k) => sum + k.totalMs * k.transportShare * k.traces, 0);
  return total > 0 ? transport / total : undefined;
}

function maxRateTable(targets: SocialTarget[]): string[] {
  const max = (m: SocialMode) => (m.maxSustainableRate === null ? 'none' : rate(m.maxSustainableRate));
  const cpu = (m: SocialMode) => {
    const us = stackCpuPerRequest(m);
    return us === undefined ? '–' : `${(us / 1000).toFixed(2)}`;
  };
  const share = (m: SocialMode) => {
    const s = transportShare(m);
    return s === undefined ? '–' : percent(s * 100);
  };
  return [
    '| transport | max req/s, web API | stack CPU ms/request | transport share | max req/s, direct | stack CPU ms/request | transport share | stopped because (web; direct) | time s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...targets.map((t) =>
      t.error !== undefined && t.web.steps.length === 0
        ? `| ${t.transport} | **failed: ${firstLine(t.error)}** |`
        : `| ${t.transport} | ${max(t.web)} | ${cpu(t.web)} | ${share(t.web)} | ${max(t.direct)} | ${cpu(t.direct)} | ${share(t.direct)} | ` +
          `${t.web.stoppedBecause}; ${t.direct.stoppedBecause} | ${t.seconds.toFixed(0)} |`,
    ),
    '',
    'Stack CPU per request: every process of the stack, PostgreSQL and RabbitMQ included, at the max sustainable rate. ' +
      'Transport share: the time the sampled requests spent in transport hops over their whole time.',
    '',
  ];
}

function breakdownTables(targets: SocialTarget[]): string[] {
  const lines = [
    '### Where the time goes',
    '',
    "Medians over the sampled requests of each kind. Web tier: the web app's own work outside its calls (straight to the services: the load " +
      "generator's own, next to nothing). Transport: each hop's caller time minus its handler's — encoding, the wire or the broker, queueing, " +
      "decoding, each side's event loop getting to it. Handlers: the services' own work outside their calls and queries. Database: the SQL " +
      'statements, round trip included. Hops: service calls made for one request, at any depth.',
    '',
    '| transport | way | kind | hops | request ms | web tier | transport | handlers | database | transport share | traces |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    for (const mode of SOCIAL_MODES) {
      for (const k of t[mode].breakdown) {
        const missing = k.unmatchedCalls > 0 ? ` (${k.unmatchedCalls} calls without a handler span)` : '';
        lines.push(
          `| ${t.transport} | ${mode} | ${k.kind} | ${k.hops} | ${ms(k.totalMs)} | ${ms(k.edgeMs)} | ${ms(k.transportMs)} | ` +
            `${ms(k.handlerMs)} | ${ms(k.databaseMs)} | ${percent(k.transportShare * 100)} | ${k.traces}${missing} |`,
        );
      }
    }
  }
  lines.push('');
  return lines;
}

function cpuTable(targets: SocialTarget[]): string[] {
  const lines = [
    '### CPU by process',
    '',
    '% of one core over the measured window at the max sustainable rate (open loop), from /proc; the machine has two cores, shared by all of them. ' +
      'The traced run (a quarter of that rate) is the second line of each pair.',
    '',
    `| transport | way | req/s | load generator | ${STACK_PROCESSES.join(' | ')} | µs CPU per request (stack) |`,
    `| --- | --- | ---: | ---: | ${STACK_PROCESSES.map(() => '---:').join(' | ')} | ---: |`,
  ];
  for (const t of targets) {
    for (const mode of SOCIAL_MODES) {
      for (const [step, what] of [
        [quotedStep(t[mode]), mode],
        [t[mode].traced, `${mode}, traced`],
      ] as const) {
        if (step === undefined) continue;
        const cpu = step.stackCpu;
        lines.push(
          `| ${t.transport} | ${what} | ${rate(step.throughput)} | ${percent(step.clientCpu)} | ` +
            `${STACK_PROCESSES.map((p) => (cpu[p] === undefined ? '–' : percent(cpu[p]))).join(' | ')} | ${Math.round(step.serverCpuPerCall)} |`,
        );
      }
    }
  }
  lines.push('');
  return lines;
}

function closedLoopTable(targets: SocialTarget[], mode: SocialModeName, repetitions: number): string[] {
  const lines = [
    `Closed loop (median of ${repetitions} repetition(s), min–max):`,
    '',
    '| transport | concurrency | req/s | p50 ms | p99 ms | errors | CPU load generator | CPU stack (all processes) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    for (const c of t[mode].closedLoop) {
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
function kindTable(targets: SocialTarget[], mode: SocialModeName): string[] {
  const lines = [
    'Latency by request kind: closed loop at its highest concurrency (median over repetitions), and open loop at the max sustainable rate (from the intended send time).',
    '',
    '| transport | kind | closed p50 ms | closed p99 ms | open req/s | open p50 ms | open p99 ms | open errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    const closed = t[mode].closedLoop.at(-1);
    const open = quotedStep(t[mode]);
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

function errorList(targets: SocialTarget[], mode: SocialModeName): string[] {
  const lines: string[] = [];
  for (const t of targets) {
    const counts: Record<string, number> = {};
    for (const run of [...t[mode].closedLoop.flatMap((c) => c.runs), ...t[mode].steps]) {
      for (const [kind, figures] of Object.entries(run.byKind ?? {})) {
        for (const [code, n] of Object.entries(figures.errorCodes)) {
          counts[`${kind}: ${code}`] = (counts[`${kind}: ${code}`] ?? 0) + n;
        }
      }
    }
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (entries.length > 0) lines.push(`- **${t.transport}**: ${entries.map(([k, n]) => `${k} × ${n}`).join('; ')}`);
  }
  if (lines.length === 0) return ['Errors: none in any run.', ''];
  return [
    'Errors in every run (closed and open loop, overloaded steps included), by request kind and code:',
    '',
    ...lines,
    '',
  ];
}

function stepsTable(targets: SocialTarget[], mode: SocialModeName): string[] {
  const lines = [
    '<details><summary>Every open-loop step</summary>',
    '',
    '| transport | offered/s | answered/s | p50 | p99 | p99.9 | errors | send lag p99 | CPU load generator | CPU stack |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of targets) {
    for (const s of [...t[mode].steps].sort((a, b) => a.rate - b.rate)) {
      lines.push(
        `| ${t.transport} | ${rate(s.rate)} | ${rate(s.throughput)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p999)} | ${s.errors} | ${ms(s.sendLagP99)} | ${percent(s.clientCpu)} | ${percent(s.serverCpu)} |`,
      );
    }
  }
  lines.push('', '</details>', '');
  return lines;
}

function rateCharts(section: SocialSection, measured: SocialTarget[]): Chart[] {
  if (measured.length === 0) return [];
  const color = (t: SocialTarget): string => TARGET_COLORS[t.transport] ?? '#888';
  const maxRates = barChart({
    title: 'Social mix: max sustainable rate',
    yLabel: 'requests per second',
    groups: SOCIAL_MODES.map((m) => MODE_TITLES[m]),
    series: measured.map((t) => ({
      name: t.transport,
      color: color(t),
      values: SOCIAL_MODES.map((m) => t[m].maxSustainableRate ?? 0),
    })),
  });
  const p99 = SOCIAL_MODES.map((mode) => ({
    file: `social-p99-${mode}.svg`,
    title: `Social mix ${MODE_TITLES[mode]}: p99 against offered rate`,
    svg: lineChart({
      title: `Social mix ${MODE_TITLES[mode]}: p99 against offered rate`,
      xLabel: 'offered requests per second (log scale)',
      yLabel: 'p99 ms (log scale)',
      xLog: true,
      yLog: true,
      limit: { value: section.p99LimitMs, label: `limit ${section.p99LimitMs} ms` },
      series: measured
        .filter((t) => t[mode].steps.length > 0)
        .map((t) => ({
          name: t.transport,
          color: color(t),
          points: [...t[mode].steps]
            .sort((a, b) => a.rate - b.rate)
            .map((s): [number, number] => [s.rate, Math.max(s.p99, 0.001)]),
        })),
    }),
  }));
  return [{ file: 'social-max-rate.svg', title: 'Social mix max sustainable rate', svg: maxRates }, ...p99];
}

/** One stacked chart per transport: each kind of request, web and direct side by side, split into its parts. */
function breakdownCharts(measured: SocialTarget[]): Chart[] {
  return measured
    .filter((t) => SOCIAL_MODES.some((m) => t[m].breakdown.length > 0))
    .map((t) => {
      const kinds = [...new Set(SOCIAL_MODES.flatMap((m) => t[m].breakdown.map((k) => k.kind)))].sort();
      const of = (mode: SocialModeName, kind: string): KindBreakdown | undefined =>
        t[mode].breakdown.find((k) => k.kind === kind);
      const title = `Where a request's time goes on ${t.transport} (median ms)`;
      return {
        file: `social-breakdown-${t.transport}.svg`,
        title,
        svg: stackedBarChart({
          title,
          yLabel: 'ms',
          groups: kinds,
          bars: [...SOCIAL_MODES],
          segments: PARTS.map(({ name, color }) => ({ name, color })),
          values: kinds.map((kind) =>
            SOCIAL_MODES.map((mode) => {
              const k = of(mode, kind);
              return k === undefined ? undefined : PARTS.map((p) => k[p.key]);
            }),
          ),
        }),
      };
    });
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
