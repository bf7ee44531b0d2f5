/**
 * Telemetry's price on the whole application: the social mix through the web API on two stacks
 * of one transport, side by side and identical but for telemetry —
 *
 *   on   as every social run has it: per-call metrics, and one request in 100 traced (the load
 *        generator sets the sampled flag; every process follows it), spans exported to the run's
 *        collector;
 *   off  OTEL_SDK_DISABLED=true in every process: no spans, no per-call metrics.
 *
 * Closed loop at the social section's highest concurrency; the two stacks alternate, each
 * repetition in the other order, so drift over the run touches them alike. Both are seeded
 * with the same graph, then warmed up through the web app.
 */
import { closedLoop } from '../load/closed-loop.js';
import { summarise, type RunFigures } from '../load/run.js';
import { TraceSampler } from '../load/trace-sampler.js';
import type { SocialTelemetryCase, SocialTelemetryMode } from '../results/telemetry.js';
import { stackCpuWindow } from '../stack/stack-cpu.js';
import type { Stack } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import type { TransportKind } from '@chirp/transport';
import { describeRun } from './closed-loop-workload.js';
import { socialMix } from './social-mix.js';
import { seedSocial } from './social-seed.js';
import { warmUp, withStack } from './with-stack.js';
import type { SuiteContext } from './workload.js';

/**
 * Shortest measured window on a whole stack: a burst of whole-application requests can take a
 * slow machine longer than a small call's window (200 ms in the report test), which then
 * measures nothing at all.
 */
const MIN_WINDOW_MS = 1_000;

export const SOCIAL_TELEMETRY_MODES = ['off', 'sampled'] as const satisfies readonly SocialTelemetryMode[];

/** With telemetry on, one request in this many is traced (on the whole application and in the small-RPC comparison alike). */
export const SAMPLE_EVERY = 100;

/** Both stacks of `transport`, the mix alternating between them; the cases, or throws what stopped it. */
export async function socialTelemetryCost(
  context: SuiteContext,
  transport: TransportKind,
): Promise<SocialTelemetryCase[]> {
  const { settings, progress } = context;
  const s = settings.social;
  const concurrency = Math.max(...s.concurrency);
  const runs: Record<SocialTelemetryMode, RunFigures[]> = { off: [], sampled: [] };
  await withStack(
    context,
    'telemetry-social',
    transport,
    (off) =>
      withStack(context, 'telemetry-social', transport, async (on) => {
        const drivers = { off: await driver(off, 0), sampled: await driver(on, SAMPLE_EVERY) };
        try {
          for (let rep = 1; rep <= settings.repetitions; rep++) {
            // Each repetition in the other order (off, on, on, off, …): a drift over the run
            // (a stack still warming up) falls on both sides alike.
            const order = rep % 2 === 1 ? SOCIAL_TELEMETRY_MODES : [...SOCIAL_TELEMETRY_MODES].reverse();
            for (const mode of order) {
              const { stack, cpu, mix } = drivers[mode];
              const figures = await closedLoop(mix, cpu, {
                concurrency,
                warmupMs: settings.warmupMs,
                durationMs: Math.max(settings.durationMs, MIN_WINDOW_MS),
              });
              stack.assertAlive();
              runs[mode].push(figures);
              const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
              progress.line(
                `telemetry social ${transport.padEnd(4)} ${mode.padEnd(7)} c=${concurrency}${reps}  ${describeRun(figures)}`,
              );
            }
          }
        } finally {
          await Promise.all(Object.values(drivers).map((d) => d.web.close()));
        }
      }),
    { env: { OTEL_SDK_DISABLED: 'true' } },
  );
  return SOCIAL_TELEMETRY_MODES.map((mode) => ({ transport, mode, ...summarise(runs[mode]) }));

  /** A seeded stack and the mix through its web API, one request in `every` traced (0: none). */
  async function driver(stack: Stack, every: number) {
    const { draws } = await seedSocial(stack, s);
    const web = new WebApi(stack.webUrl, { connections: concurrency, timeoutMs: settings.timeoutMs });
    const mix = socialMix(web, draws, new TraceSampler(every));
    const cpu = stackCpuWindow(stack).source;
    await warmUp(mix, cpu, concurrency, settings);
    return { stack, cpu, web, mix };
  }
}
