/**
 * Telemetry's price: each transport's small call (echo 64 B, at the headline concurrencies)
 * with traces and metrics off (as the RPC section runs), on with every call traced, and on with
 * one call in a hundred traced — on both sides, spans kept in memory and exported over OTLP to
 * the run's collector process (as to a Jaeger), per-call histograms observed. The three modes
 * alternate within each repetition, so drift over the run touches them alike.
 *
 * The load generator turns its own telemetry on only around a traced run: it is global to a
 * process, and every other measurement of the suite runs without it.
 */
import { startTelemetry } from '@chirp/telemetry';
import { headlineLevels } from '../comparison.js';
import { closedLoop } from '../load/closed-loop.js';
import { fixedRequest, summarise, type Repeated, type RunFigures } from '../load/run.js';
import { ms, rate } from '../report/format.js';
import { TARGET_COLORS, barChart } from '../report/svg.js';
import { TRACING_MODES, echoPayload, tracingEnv, type TargetName, type TracingMode } from '../targets/index.js';
import type { TransportKind } from '@chirp/transport';
import { describeRun } from './closed-loop-workload.js';
import type { Rendered, Workload } from './workload.js';

export const TELEMETRY_MODES = ['off', ...TRACING_MODES] as const;
export type TelemetryMode = (typeof TELEMETRY_MODES)[number];

const PAYLOAD_BYTES = 64;

export interface TelemetryCase extends Repeated {
  transport: TransportKind;
  mode: TelemetryMode;
  concurrency: number;
}

export interface TelemetrySection {
  payloadBytes: number;
  cases: TelemetryCase[];
  /** Spans the collector received during the section (what the traced modes exported). */
  spansExported: number;
  errors: Partial<Record<TransportKind, string>>;
}

export const telemetryWorkload: Workload<'telemetry'> = {
  name: 'telemetry',
  title: 'Telemetry cost (traces and metrics on and off)',
  async run(context) {
    const { settings, progress } = context;
    const levels = [...new Set(Object.values(headlineLevels(settings)))];
    const collector = await context.collector();
    const before = (await collector.spansOf([])).received;
    const section: TelemetrySection = { payloadBytes: PAYLOAD_BYTES, cases: [], spansExported: 0, errors: {} };
    const runs = new Map<string, RunFigures[]>();
    const payload = echoPayload(PAYLOAD_BYTES);
    for (let rep = 1; rep <= settings.repetitions; rep++) {
      for (const transport of settings.transports) {
        if (section.errors[transport] !== undefined) continue;
        try {
          for (const concurrency of levels) {
            for (const mode of TELEMETRY_MODES) {
              const name: TargetName = mode === 'off' ? transport : `${transport}+${mode}`;
              const { server, caller } = await context.target(name);
              const figures = await withCallerTelemetry(mode, collector.endpoint, () =>
                closedLoop(fixedRequest(caller, 'echo', payload), server, {
                  concurrency,
                  warmupMs: settings.warmupMs,
                  durationMs: settings.durationMs,
                }),
              );
              const key = `${transport} ${mode} ${concurrency}`;
              runs.set(key, [...(runs.get(key) ?? []), figures]);
              const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
              progress.line(
                `telemetry ${transport.padEnd(4)} ${mode.padEnd(7)} c=${String(concurrency).padEnd(3)}${reps}  ${describeRun(figures)}`,
              );
            }
          }
        } catch (err) {
          section.errors[transport] = err instanceof Error ? err.message : String(err);
          progress.line(`telemetry ${transport}: FAILED: ${section.errors[transport]}`);
        }
      }
    }
    for (const transport of settings.transports) {
      for (const mode of TRACING_MODES) await context.release(`${transport}+${mode}`);
    }
    for (const [key, figures] of runs) {
      const [transport, mode, concurrency] = key.split(' ') as [TransportKind, TelemetryMode, string];
      section.cases.push({ transport, mode, concurrency: Number(concurrency), ...summarise(figures) });
    }
    section.spansExported = (await collector.spansOf([])).received - before;
    return section;
  },
  render: renderTelemetry,
};

/** Run `measure` with this process's telemetry on as `mode` says (and off again after). */
async function withCallerTelemetry<T>(mode: TelemetryMode, endpoint: string, measure: () => Promise<T>): Promise<T> {
  if (mode === 'off') return measure();
  const telemetry = startTelemetry({ service: 'bench-load', env: tracingEnv(mode as TracingMode, endpoint) });
  try {
    return await measure();
  } finally {
    await telemetry.stop();
  }
}

function renderTelemetry(section: TelemetrySection): Rendered {
  const find = (transport: string, mode: TelemetryMode, concurrency: number) =>
    section.cases.find((c) => c.transport === transport && c.mode === mode && c.concurrency === concurrency);
  const cpu = (c: TelemetryCase | undefined) => (c ? c.median.clientCpuPerCall + c.median.serverCpuPerCall : NaN);
  const change = (on: number, off: number) =>
    Number.isFinite(on / off) ? `${((on / off - 1) * 100).toFixed(0)}%` : '–';
  const lines = [
    '## Telemetry cost (traces and metrics on and off)',
    '',
    `Each transport's small call (echo ${section.payloadBytes} B) with telemetry off (as in the RPC section), on with ` +
      'every call traced, and on with one call in 100 traced (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, ' +
      '`OTEL_TRACES_SAMPLER_ARG=1` or `0.01`): on both sides, spans kept for the Transports page and exported over ' +
      'OTLP/HTTP to a collector process, per-call histograms observed. The modes alternate within each repetition. ' +
      `Δ is against off: throughput (req/s) and CPU per call (load generator + server). ` +
      `The collector received ${rate(section.spansExported)} spans.`,
    '',
    '| transport | c | req/s off | req/s 1% traced | req/s all traced | Δ req/s 1% | Δ req/s all | p99 ms off / 1% / all | CPU µs/call off | 1% | all | Δ CPU 1% | Δ CPU all |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const bars: { name: string; off: number; sampled: number; traced: number }[] = [];
  const levels = [...new Set(section.cases.map((c) => c.concurrency))].sort((a, b) => a - b);
  const transports = [...new Set(section.cases.map((c) => c.transport))];
  for (const transport of transports) {
    for (const concurrency of levels) {
      const [off, sampled, traced] = (['off', 'sampled', 'traced'] as const).map((m) =>
        find(transport, m, concurrency),
      );
      if (off === undefined) continue;
      const req = (c: TelemetryCase | undefined) => c?.median.throughput ?? NaN;
      lines.push(
        `| ${transport} | ${concurrency} | ${rate(req(off))} | ${rate(req(sampled))} | ${rate(req(traced))} | ` +
          `${change(req(sampled), req(off))} | ${change(req(traced), req(off))} | ` +
          `${[off, sampled, traced].map((c) => (c ? ms(c.median.p99) : '–')).join(' / ')} | ` +
          `${Math.round(cpu(off))} | ${Math.round(cpu(sampled))} | ${Math.round(cpu(traced))} | ` +
          `${change(cpu(sampled), cpu(off))} | ${change(cpu(traced), cpu(off))} |`,
      );
      if (concurrency === Math.max(...levels)) {
        bars.push({ name: transport, off: req(off), sampled: req(sampled), traced: req(traced) });
      }
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
      series: [
        { name: 'off', color: TARGET_COLORS.tcp!, values: bars.map((b) => b.off) },
        { name: '1 in 100 traced', color: TARGET_COLORS.udp!, values: bars.map((b) => b.sampled) },
        { name: 'every call traced', color: TARGET_COLORS.amqp!, values: bars.map((b) => b.traced) },
      ],
    }),
  };
  lines.push('', `![${chart.title}](${chart.file})`, '');
  return { markdown: lines.join('\n'), charts: [chart] };
}
