/**
 * Telemetry's price: each transport's small call (echo 64 B, at the headline concurrencies)
 * with traces and metrics off (as the RPC section runs); with only OpenTelemetry's
 * AsyncLocalStorage context manager on (Node's async hooks, which every promise then pays for:
 * what the services avoid by handing their context on); and with telemetry on as the services
 * run it (@chirp/transport's scoped-context.ts) and no call, one call in a hundred and every call
 * traced — on both sides, spans kept in memory and exported over OTLP to the run's collector
 * process (as to a Jaeger), per-call histograms observed; and one call in a hundred traced with
 * nothing exported, which tells tracing's own cost from export's. The six modes alternate within
 * each repetition, so drift over the run touches them alike, and every other repetition runs them
 * in the reverse order: a mode's place in the round moved its throughput by about 3% either way in
 * runs apart from the bench (1 in 100 traced against none, then the same two in the other order).
 * Each repetition starts every server afresh, and the report pairs each mode with off repetition by
 * repetition (telemetry-report.ts).
 *
 * The load generator turns its own telemetry on only around a traced run: it is global to a
 * process, and every other measurement of the suite runs without it.
 *
 * Then the same question on the whole application: the social mix with telemetry off and on
 * (telemetry-social.ts).
 */
import { headlineLevels } from '../comparison.js';
import { closedLoop } from '../load/closed-loop.js';
import { summarise, type RequestSource, type RunFigures } from '../load/run.js';
import { TELEMETRY_MODES, type TelemetryMode, type TelemetrySection } from '../results/telemetry.js';
import { startTracing } from '../targets/chirp.js';
import { echoPayload, type Caller, type TargetName } from '../targets/index.js';
import { ROOT_CONTEXT, TraceFlags, context as contexts, trace } from '@opentelemetry/api';
import { newSpanId, newTraceId, type TransportKind } from '@chirp/transport';
import { cpuPercent } from '../process/messages.js';
import { describeRun } from './closed-loop-workload.js';
import { SAMPLE_EVERY, socialTelemetryCost } from './telemetry-social.js';
import type { Workload } from './workload.js';

const PAYLOAD_BYTES = 64;

export const telemetryWorkload: Workload<'telemetry'> = {
  name: 'telemetry',
  title: 'Telemetry cost (traces and metrics on and off)',
  async run(context) {
    const { settings, progress } = context;
    const levels = [...new Set(Object.values(headlineLevels(settings)))];
    const collector = await context.collector();
    const before = (await collector.spansOf([])).received;
    const section: TelemetrySection = { payloadBytes: PAYLOAD_BYTES, cases: [], spansExported: 0, errors: {} };
    /** Each case's repetitions, and the collector's CPU (% of a core) during each. */
    const runs = new Map<string, { figures: RunFigures[]; collectorCpu: number[] }>();
    const payload = echoPayload(PAYLOAD_BYTES);
    for (let rep = 1; rep <= settings.repetitions; rep++) {
      for (const transport of settings.transports) {
        if (section.errors[transport] !== undefined) continue;
        try {
          for (const concurrency of levels) {
            for (const mode of rep % 2 === 1 ? TELEMETRY_MODES : [...TELEMETRY_MODES].reverse()) {
              const { server, caller } = await context.target(targetName(transport, mode));
              const collectorFrom = collector.cpu();
              const figures = await withCallerTelemetry(mode, collector.endpoint, () =>
                closedLoop(callsInRequests(caller, payload, SAMPLED_EVERY[mode]), server, {
                  concurrency,
                  warmupMs: settings.warmupMs,
                  durationMs: settings.durationMs,
                }),
              );
              const collectorTo = collector.cpu();
              const key = `${transport} ${mode} ${concurrency}`;
              const repeated = runs.get(key) ?? { figures: [], collectorCpu: [] };
              repeated.figures.push(figures);
              if (collectorFrom !== undefined && collectorTo !== undefined) {
                repeated.collectorCpu.push(cpuPercent(collectorFrom, collectorTo));
              }
              runs.set(key, repeated);
              const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
              progress.line(
                `telemetry ${transport.padEnd(4)} ${mode.padEnd(8)} c=${String(concurrency).padEnd(3)}${reps}  ${describeRun(figures)}`,
              );
            }
          }
        } catch (err) {
          section.errors[transport] = err instanceof Error ? err.message : String(err);
          progress.line(`telemetry ${transport}: FAILED: ${section.errors[transport]}`);
        } finally {
          // Every repetition on server processes of its own: one process's luck (how V8 compiled
          // it, where its heap landed) would otherwise tilt one mode for the whole run.
          for (const mode of TELEMETRY_MODES) await context.release(targetName(transport, mode));
        }
      }
    }
    for (const [key, { figures, collectorCpu }] of runs) {
      const [transport, mode, concurrency] = key.split(' ') as [TransportKind, TelemetryMode, string];
      section.cases.push({ transport, mode, concurrency: Number(concurrency), ...summarise(figures), collectorCpu });
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
};

function targetName(transport: TransportKind, mode: TelemetryMode): TargetName {
  return mode === 'off' ? transport : `${transport}+${mode}`;
}

/** One request in how many is traced, in each mode (0: none). */
const SAMPLED_EVERY: Record<TelemetryMode, number> = {
  off: 0,
  context: 0,
  untraced: 0,
  kept: SAMPLE_EVERY,
  sampled: SAMPLE_EVERY,
  traced: 1,
};

/**
 * The echo call as one service makes it of another: inside a request, under that request's trace
 * context — sampled one request in `every` (none if 0), as the request's first hop decided (the caller's and
 * the server's samplers follow that decision). The same in every mode, so the load generator's
 * own work is alike in all; without telemetry the context is simply not looked at.
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
      const traceFlags = every > 0 && count++ % every === 0 ? TraceFlags.SAMPLED : TraceFlags.NONE;
      const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: newTraceId(), spanId: newSpanId(), traceFlags });
      return contexts.with(parent, () => caller.call('echo', payload));
    },
  };
  return () => request;
}

/** Run `measure` with this process's telemetry on as `mode` says (and off again after). */
async function withCallerTelemetry<T>(mode: TelemetryMode, endpoint: string, measure: () => Promise<T>): Promise<T> {
  if (mode === 'off') return measure();
  const stop = startTracing(mode, 'bench-load', endpoint);
  try {
    return await measure();
  } finally {
    await stop();
  }
}
