/**
 * The social mix: the whole application (stack/) on each transport and on mixed, seeded with
 * a generated power-law graph (social-graph.ts, social-seed.ts), then driven with the
 * DeathStarBench-style request mix (social-mix.ts) two ways, side by side:
 *
 *   web     through the web app's JSON API (what a user sees);
 *   direct  straight to the services through their typed clients, with the same mix, graph and
 *           calls, without the web tier (what the transports carry).
 *
 * Each way, after an unmeasured warm-up (warmUp): (a) closed loop at a few concurrency levels:
 * throughput, p50/p99 per request kind, repeated; (b) open loop (Poisson arrivals, latency from the intended send time) at rising
 * rates, to the max sustainable rate: the highest whose p99 stays under the limit with < 1%
 * errors (searchMaxRate, a failing rate run twice, as the echo open loop does); (c) where each
 * request's time went (social-breakdown.ts), from the traces of about TRACES_WANTED requests of
 * an open-loop run at a quarter of that rate (little queueing), exported by every process to the
 * run's collector.
 *
 * Every run records each process's CPU (services, web, PostgreSQL and RabbitMQ, from /proc) and
 * the load generator's. The stack is fresh per transport (new databases), and the graph and mix
 * use the same seed on every transport, so they all serve the same network.
 */
import { performance } from 'node:perf_hooks';
import { chirpTransportConfig } from '@chirp/contracts';
import { createTransport } from '@chirp/transport';
import { closedLoop } from '../load/closed-loop.js';
import { openLoop, type OpenLoopFigures } from '../load/open-loop.js';
import { summarise, type RequestSource, type RunFigures } from '../load/run.js';
import { TraceSampler } from '../load/trace-sampler.js';
import { rate } from '../report/format.js';
import {
  SOCIAL_MODES,
  type SeedFigures,
  type SocialMode,
  type SocialModeName,
  type SocialSection,
  type SocialTarget,
  type StackCpu,
} from '../results/social.js';
import { stackCpuWindow, type StackCpuWindow } from '../stack/stack-cpu.js';
import type { Stack } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import { describeRun } from './closed-loop-workload.js';
import { failsOnlyTwice, searchMaxRate, stoppedBecause } from './open-loop-workload.js';
import { breakdownOf } from './social-breakdown.js';
import { MIX_SHARES, directMix, socialMix } from './social-mix.js';
import { seedSocial, type Draws } from './social-seed.js';
import { BENCH_BCRYPT_COST, stackTransports, warmUp, withStack } from './with-stack.js';
import type { SuiteContext, Workload } from './workload.js';

/** Requests traced for the breakdown, about: enough for medians per kind of the mix's common ones. */
const TRACES_WANTED = 400;
/** Requests the traced run makes at least: with 50, a kind making 29% of the mix is missed once in 10⁷ runs. */
const TRACES_AT_LEAST = 50;

/** Why an open-loop step fails, or undefined if the rate held. */
export function socialFailure(step: OpenLoopFigures, p99LimitMs: number, maxErrorShare: number): string | undefined {
  const share = step.errors / Math.max(1, step.count + step.errors);
  if (step.count === 0) return `no request answered at ${rate(step.rate)}/s`;
  if (share >= maxErrorShare) return `${(share * 100).toFixed(1)}% errors at ${rate(step.rate)}/s`;
  if (step.p99 > p99LimitMs) return `p99 ${step.p99.toFixed(1)} ms > ${p99LimitMs} ms at ${rate(step.rate)}/s`;
  return undefined;
}

const emptyMode = (): SocialMode => ({
  closedLoop: [],
  steps: [],
  maxSustainableRate: null,
  stoppedBecause: '',
  breakdown: [],
});

export const socialWorkload: Workload<'social'> = {
  name: 'social',
  title: 'Social mix (the whole application: through the web API, and straight to the services)',
  async run(context) {
    const { settings, progress } = context;
    const s = settings.social;
    const section: SocialSection = {
      users: s.users,
      followsPerUser: s.followsPerUser,
      seedPosts: s.seedPosts,
      seededThrough: "the services' typed clients",
      bcryptCost: BENCH_BCRYPT_COST,
      shares: MIX_SHARES,
      p99LimitMs: s.openLoop.p99LimitMs,
      maxErrorShare: s.maxErrorShare,
      targets: [],
    };
    const collector = await context.collector();
    for (const transport of stackTransports(settings)) {
      const target: SocialTarget = { transport, web: emptyMode(), direct: emptyMode(), seconds: 0 };
      section.targets.push(target);
      const started = performance.now();
      try {
        await withStack(context, 'social', transport, async (stack) => {
          const seedStart = performance.now();
          const { graph, draws } = await seedSocial(stack, s);
          target.seed = seedFigures(graph.follows.length, graph.followers, s.seedPosts, seedStart);
          progress.line(
            `social ${transport.padEnd(7)} seeded ${draws.users.length} users, ${graph.follows.length} follows, ` +
              `${s.seedPosts} posts in ${target.seed.seconds.toFixed(1)} s`,
          );
          const cpu = stackCpuWindow(stack);
          for (const mode of SOCIAL_MODES) {
            await driveMode(context, stack, mode, target[mode], cpu, draws, async (sampler) => {
              target[mode].breakdown = await breakdownOf(collector, sampler.sampled);
            });
          }
        });
      } catch (err) {
        target.error = err instanceof Error ? err.message : String(err);
        progress.line(`social ${transport}: FAILED: ${target.error}`);
      }
      target.seconds = (performance.now() - started) / 1000;
      const max = (m: SocialMode) => (m.maxSustainableRate === null ? 'none' : `${rate(m.maxSustainableRate)}/s`);
      progress.line(
        `social ${transport.padEnd(7)} max sustainable: web ${max(target.web)} (${target.web.stoppedBecause}), ` +
          `direct ${max(target.direct)} (${target.direct.stoppedBecause}); ${target.seconds.toFixed(0)} s in all`,
      );
    }
    return section;
  },
};

/**
 * One way of driving the mix on one stack: the closed loop (repeated, the highest concurrency's
 * last repetition traced), then the open-loop search for the max sustainable rate.
 */
async function driveMode(
  context: SuiteContext,
  stack: Stack,
  mode: SocialModeName,
  result: SocialMode,
  cpu: StackCpuWindow,
  draws: Draws,
  traced: (sampler: TraceSampler) => Promise<void>,
): Promise<void> {
  const { settings, progress } = context;
  const s = settings.social;
  const label = `social ${stack.transport.padEnd(7)} ${mode.padEnd(6)}`;
  const untraced = new TraceSampler(0);
  const web = new WebApi(stack.webUrl, { connections: Math.max(...s.concurrency, 64), timeoutMs: settings.timeoutMs });
  const services = createTransport(chirpTransportConfig(stack.clientEnv));
  const mixOf = (sampler: TraceSampler): RequestSource =>
    mode === 'web' ? socialMix(web, draws, sampler) : directMix(services, draws, sampler);
  try {
    await warmUp(mixOf(untraced), cpu.source, Math.max(...s.concurrency), settings);
    cpu.take();
    const runs = new Map<number, { figures: RunFigures[]; cpu: StackCpu[] }>();
    for (let rep = 1; rep <= settings.repetitions; rep++) {
      for (const concurrency of s.concurrency) {
        const figures = await closedLoop(mixOf(untraced), cpu.source, {
          concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          byKind: true,
        });
        stack.assertAlive();
        const entry = runs.get(concurrency) ?? { figures: [], cpu: [] };
        entry.figures.push(figures);
        entry.cpu.push(cpu.take());
        runs.set(concurrency, entry);
        const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
        progress.line(`${label} closed c=${concurrency}${reps}  ${describeRun(figures)}`);
      }
    }
    for (const [concurrency, entry] of runs) {
      result.closedLoop.push({ concurrency, stackCpu: entry.cpu, ...summarise(entry.figures) });
    }
    /** One open-loop step at `offered`: why it failed, or undefined if it held. */
    const step = async (offered: number): Promise<string | undefined> => {
      const figures = await openLoop(mixOf(untraced), cpu.source, {
        rate: offered,
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
        maxOutstanding: s.openLoop.maxOutstanding,
        byKind: true,
      });
      stack.assertAlive();
      result.steps.push({ ...figures, stackCpu: cpu.take() });
      progress.line(`${label} open ${rate(offered).padStart(6)}/s offered  ${describeRun(figures)}`);
      return socialFailure(figures, s.openLoop.p99LimitMs, s.maxErrorShare);
    };
    const failures = new Map<number, string>();
    result.maxSustainableRate = await searchMaxRate(s.openLoop, failsOnlyTwice(step, failures));
    result.stoppedBecause = stoppedBecause(failures);

    // Where the time goes: traced at a quarter of the max rate, where a request meets little
    // queueing, so each part is what it costs rather than how long it waited.
    // Long enough for TRACES_AT_LEAST requests when that rate is low (a slow machine), so each
    // common kind of the mix is traced a few times however low the max rate came out.
    const tracedRate = Math.max(s.openLoop.minRate, Math.round((result.maxSustainableRate ?? s.openLoop.minRate) / 4));
    const tracedMs = Math.max(settings.durationMs, (TRACES_AT_LEAST / tracedRate) * 1000);
    const sampler = new TraceSampler(Math.max(1, Math.round((tracedRate * tracedMs) / 1000 / TRACES_WANTED)));
    const figures = await openLoop(mixOf(sampler), cpu.source, {
      rate: tracedRate,
      warmupMs: settings.warmupMs,
      durationMs: tracedMs,
      maxOutstanding: s.openLoop.maxOutstanding,
      byKind: true,
    });
    stack.assertAlive();
    result.traced = { ...figures, stackCpu: cpu.take() };
    progress.line(`${label} traced ${rate(tracedRate).padStart(6)}/s offered  ${describeRun(figures)}`);
    await traced(sampler);
  } finally {
    await web.close();
    await services.close();
  }
}

function seedFigures(follows: number, followers: number[], posts: number, startedAt: number): SeedFigures {
  const sorted = [...followers].sort((a, b) => a - b);
  return {
    users: followers.length,
    follows,
    posts,
    seconds: (performance.now() - startedAt) / 1000,
    maxFollowers: sorted[sorted.length - 1] ?? 0,
    medianFollowers: sorted[Math.floor(sorted.length / 2)] ?? 0,
  };
}
