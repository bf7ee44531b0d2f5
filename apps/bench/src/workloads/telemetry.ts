/**
 * Telemetry's price: each transport's small call (echo 64 B, at the headline concurrencies)
 * with traces and metrics off (as the RPC section runs), on with every call traced, and on with
 * one call in a hundred traced — on both sides, spans kept in memory and exported over OTLP to
 * the run's collector process (as to a Jaeger), per-call histograms observed. The three modes
 * alternate within each repetition, so drift over the run touches them alike.
 *
 * The load generator turns its own telemetry on only around a traced run: it is global to a
 * process, and every other measurement of the suite runs without it.
 *
 * Then the same question on the whole application: the social mix with telemetry off and on
 * (telemetry-social.ts).
 */
import { startTelemetry } from '@chirp/telemetry';
import { headlineLevels } from '../comparison.js';
import { closedLoop } from '../load/closed-loop.js';
import { summarise, type Repeated, type RequestSource, type RunFigures } from '../load/run.js';
import { ms, rate } from '../report/format.js';
import { TARGET_COLORS, barChart } from '../report/svg.js';
import {
  TRACING_MODES,
  echoPayload,
  tracingEnv,
  type Caller,
  type TargetName,
  type TracingMode,
} from '../targets/index.js';
import { ROOT_CONTEXT, TraceFlags, context as contexts, trace } from '@opentelemetry/api';
import { newSpanId, newTraceId, type TransportKind } from '@chirp/transport';
import { describeRun } from './closed-loop-workload.js';
import { SAMPLE_EVERY, socialTelemetryCost, type SocialTelemetryCase } from './telemetry-social.js';
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
  /** The social mix through the web API with telemetry off and on (telemetry-social.ts); absent in older results. */
  social?: {
    concurrency: number;
    sampleEvery: number;
    cases: SocialTelemetryCase[];
    errors: Partial<Record<TransportKind, string>>;
  };
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
                closedLoop(callsInRequests(caller, payload, mode === 'traced' ? 1 : SAMPLE_EVERY), server, {
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
    const social: NonNullable<TelemetrySection['social']> = {
      concurrency: Math.max(...settings.social.concurrency),
      sampleEvery: SAMPLE_EVERY,
      cases: [],
      errors: {},
    };
    section.social = social;
    for (const transport of settings.transports) {
      try {
        social.cases.push(...(await socialTelemetryCost(context, transport)));
      } catch (err) {
        social.errors[transport] = err instanceof Error ? err.message : String(err);
        progress.line(`telemetry social ${transport}: FAILED: ${social.errors[transport]}`);
      }
    }
    section.spansExported = (await collector.spansOf([])).received - before;
    return section;
  },
  render: renderTelemetry,
};

/**
 * The echo call as one service makes it of another: inside a request, under that request's trace
 * context — sampled one request in `every`, as the request's first hop decided (the caller's and
 * the server's samplers follow that decision). The same in every mode, so the load generator's
 * own work is alike in all three; without telemetry the context is simply not looked at.
 * (A call with no request around it, a root, pays for the sampler's decision and two new ids on
 * top: once per user request at the edge, not once per hop.) Not the social mix's TracedRequest:
 * that records a client span for the load generator, which has no telemetry there; here the
 * caller's own telemetry makes it.
 */
function callsInRequests(caller: Caller, payload: unknown, every: number): RequestSource {
  let count = 0;
  const request = {
    kind: 'echo',
    send: () => {
      const traceFlags = count++ % every === 0 ? TraceFlags.SAMPLED : TraceFlags.NONE;
      const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: newTraceId(), spanId: newSpanId(), traceFlags });
      return contexts.with(parent, () => caller.call('echo', payload));
    },
  };
  return () => request;
}

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
      'OTLP/HTTP to a collector process, per-call histograms observed. Each call is made as one service makes it of ' +
      "another, inside a request: under the request's trace context, sampled for 1 request in 100 (or all), which " +
      'both sides follow. The modes alternate within each repetition. ' +
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
  if (section.social !== undefined) lines.push(...renderSocialCost(section.social, change), '');
  return { markdown: lines.join('\n'), charts: [chart] };
}

function renderSocialCost(
  social: NonNullable<TelemetrySection['social']>,
  change: (on: number, off: number) => string,
): string[] {
  const lines = [
    '### On the whole application (social mix through the web API)',
    '',
    `Two stacks of each transport side by side, alike but for telemetry: **off** (\`OTEL_SDK_DISABLED=true\` in every ` +
      `process) and **on** as a deployment runs it (per-call metrics; one request in ${social.sampleEvery} traced, its ` +
      `spans exported to the collector). Closed loop at c=${social.concurrency}, the stacks alternating, each ` +
      'repetition in the other order. Stack CPU is every process of the stack (services, web app, PostgreSQL, RabbitMQ) per request.',
    '',
    '| transport | req/s off | req/s on | Δ req/s | p99 ms off / on | stack CPU ms/request off | on | Δ CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const transport of [...new Set(social.cases.map((c) => c.transport))]) {
    const off = social.cases.find((c) => c.transport === transport && c.mode === 'off');
    const on = social.cases.find((c) => c.transport === transport && c.mode === 'sampled');
    if (off === undefined || on === undefined) continue;
    const cpu = (c: SocialTelemetryCase) => c.median.serverCpuPerCall / 1000;
    lines.push(
      `| ${transport} | ${rate(off.median.throughput)} | ${rate(on.median.throughput)} | ` +
        `${change(on.median.throughput, off.median.throughput)} | ${ms(off.median.p99)} / ${ms(on.median.p99)} | ` +
        `${cpu(off).toFixed(2)} | ${cpu(on).toFixed(2)} | ${change(cpu(on), cpu(off))} |`,
    );
  }
  for (const [transport, error] of Object.entries(social.errors)) {
    lines.push(`| ${transport} | **not measured: ${error}** |`);
  }
  return lines;
}
