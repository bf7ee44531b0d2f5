/**
 * The report's telemetry section: each transport's small call with telemetry off, with only
 * OpenTelemetry's AsyncLocalStorage context manager on, and on with no call, one call in a
 * hundred (exported, or only kept) and every call traced — throughput, p99 and CPU per call
 * against off, with a chart — then the whole application's social mix with telemetry off and on.
 */
import { spreadOf, type Figures, type Repeated } from '../load/run.js';
import {
  TELEMETRY_MODES,
  type TelemetryCase,
  type TelemetryMode,
  type TelemetrySection,
} from '../results/telemetry.js';
import type { Rendered } from '../results/rendered.js';
import { ms, rate } from './format.js';
import { TARGET_COLORS, barChart } from './svg.js';

const MODE_NAMES: Record<TelemetryMode, string> = {
  off: 'off',
  context: 'AsyncLocalStorage only',
  untraced: 'on, none traced',
  kept: 'on, 1 in 100 traced, not exported',
  sampled: 'on, 1 in 100 traced',
  traced: 'on, all traced',
};
const MODE_COLORS = [
  TARGET_COLORS.tcp,
  TARGET_COLORS.nats,
  TARGET_COLORS.http,
  TARGET_COLORS.mixed,
  TARGET_COLORS.udp,
  TARGET_COLORS.amqp,
];

export function renderTelemetry(section: TelemetrySection): Rendered {
  const find = (transport: string, mode: TelemetryMode, concurrency: number) =>
    section.cases.find((c) => c.transport === transport && c.mode === mode && c.concurrency === concurrency);
  const cpu = (f: Figures) => f.clientCpuPerCall + f.serverCpuPerCall;
  const req = (c: TelemetryCase | undefined) => c?.median.throughput ?? NaN;
  const lines = [
    '## Telemetry cost (traces and metrics on and off)',
    '',
    `Each transport's small call (echo ${section.payloadBytes} B) with telemetry off (as in the RPC section); with ` +
      "only OpenTelemetry's AsyncLocalStorage context manager registered (**AsyncLocalStorage only**: no spans, no " +
      "metrics, but Node's async hooks run for every promise in both processes: what it would cost for a handler's " +
      "calls to find their trace after an `await` by themselves; Chirp's handlers hand it on instead, and telemetry " +
      'on runs with a context manager that only scopes synchronous code); and with telemetry on, no call traced, ' +
      'one call in 100 and every call ' +
      '(`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0`, `0.01` or `1`): on both ' +
      "sides, per-call histograms observed, the trace context carried, and the traced calls' spans kept for the " +
      'Transports page and exported over OTLP/HTTP to a collector process (**not exported**: 1 in 100 traced, ' +
      'the spans only kept; the difference is what exporting costs). Each call is made as one service makes ' +
      "it of another, inside a request: under the request's trace context, sampled for none, 1 request in 100 or " +
      'all, which both sides follow. The modes alternate within each repetition, in the reverse order every other ' +
      'repetition, and each repetition starts every server process afresh. Δ is against off, throughput and CPU ' +
      'per call (load generator + server): the median of the repetitions’ own on/off ratios, with their range. ' +
      'The collector shares the machine: its CPU (% of one core) is taken from what the measured processes could ' +
      `have used, where a deployment's Jaeger runs elsewhere. It received ${rate(section.spansExported)} spans.`,
    '',
    '| transport | c | telemetry | req/s | Δ req/s | p99 ms | CPU µs/call | Δ CPU | collector CPU % |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const bars: { name: string; modes: (TelemetryCase | undefined)[] }[] = [];
  const levels = [...new Set(section.cases.map((c) => c.concurrency))].sort((a, b) => a - b);
  const transports = [...new Set(section.cases.map((c) => c.transport))];
  for (const transport of transports) {
    for (const concurrency of levels) {
      const measured = TELEMETRY_MODES.map((m) => find(transport, m, concurrency));
      const [off] = measured;
      if (off === undefined) continue;
      measured.forEach((c, i) => {
        if (c === undefined) return;
        const delta = (figure: (f: Figures) => number) => (c === off ? '–' : pairedChange(c, off, figure));
        const collector = c.collectorCpu?.length ? spreadOf(c.collectorCpu).median.toFixed(0) : '–';
        lines.push(
          `| ${transport} | ${concurrency} | ${MODE_NAMES[TELEMETRY_MODES[i]!]} | ${rate(req(c))} | ` +
            `${delta((f) => f.throughput)} | ${ms(c.median.p99)} | ${Math.round(cpu(c.median))} | ` +
            `${delta(cpu)} | ${collector} |`,
        );
      });
      if (concurrency === Math.max(...levels)) bars.push({ name: transport, modes: measured });
    }
  }
  for (const [transport, error] of Object.entries(section.errors)) {
    lines.push(`| ${transport} | **not measured: ${error}** |`);
  }
  const chart = {
    file: 'telemetry-throughput.svg',
    title: 'Throughput with telemetry off and on',
    svg: barChart({
      title: `Requests per second, echo ${section.payloadBytes} B at c=${Math.max(...levels)}: telemetry off and on`,
      yLabel: 'req/s',
      groups: bars.map((b) => b.name),
      series: TELEMETRY_MODES.map((mode, i) => ({
        name: MODE_NAMES[mode],
        color: MODE_COLORS[i]!,
        values: bars.map((b) => req(b.modes[i])),
      })),
    }),
  };
  lines.push('', `![${chart.title}](${chart.file})`, '');
  if (section.social !== undefined) lines.push(...renderSocialCost(section.social), '');
  return { markdown: lines.join('\n'), charts: [chart] };
}

/**
 * On against off as the median of each repetition's own ratio, with their range when there are
 * several: within a repetition the two ran back to back, and this kind of machine drifts far more
 * between repetitions (minutes apart) than within one. Runs that do not pair up (a repetition
 * failed) fall back to the ratio of the medians.
 */
function pairedChange(on: Repeated, off: Repeated, figure: (f: Figures) => number): string {
  const ratios =
    on.runs.length === off.runs.length
      ? on.runs.map((run, i) => figure(run) / figure(off.runs[i]!))
      : [figure(on.median) / figure(off.median)];
  if (!ratios.every(Number.isFinite)) return '–';
  const percent = (ratio: number) => `${((ratio - 1) * 100).toFixed(0)}%`;
  const { median, min, max } = spreadOf(ratios);
  return ratios.length === 1 ? percent(median) : `${percent(median)} (${percent(min)}…${percent(max)})`;
}

function renderSocialCost(social: NonNullable<TelemetrySection['social']>): string[] {
  const lines = [
    '### On the whole application (social mix through the web API)',
    '',
    `Two stacks of each transport side by side, alike but for telemetry: **off** (\`OTEL_SDK_DISABLED=true\` in every ` +
      `process) and **on** as a deployment runs it (per-call metrics; one request in ${social.sampleEvery} traced, its ` +
      `spans exported to the collector). Closed loop at c=${social.concurrency}, the stacks alternating, each ` +
      'repetition in the other order; Δ as above. Stack CPU is every process of the stack (services, web app, PostgreSQL, RabbitMQ) per request.',
    '',
    '| transport | req/s off | req/s on | Δ req/s | p99 ms off / on | stack CPU ms/request off | on | Δ CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const transport of [...new Set(social.cases.map((c) => c.transport))]) {
    const off = social.cases.find((c) => c.transport === transport && c.mode === 'off');
    const on = social.cases.find((c) => c.transport === transport && c.mode === 'sampled');
    if (off === undefined || on === undefined) continue;
    const cpu = (f: Figures) => f.serverCpuPerCall / 1000;
    lines.push(
      `| ${transport} | ${rate(off.median.throughput)} | ${rate(on.median.throughput)} | ` +
        `${pairedChange(on, off, (f) => f.throughput)} | ${ms(off.median.p99)} / ${ms(on.median.p99)} | ` +
        `${cpu(off.median).toFixed(2)} | ${cpu(on.median).toFixed(2)} | ${pairedChange(on, off, cpu)} |`,
    );
  }
  for (const [transport, error] of Object.entries(social.errors)) {
    lines.push(`| ${transport} | **not measured: ${error}** |`);
  }
  return lines;
}
