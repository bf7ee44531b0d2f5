/**
 * The social mix: the whole application (stack/) on each transport and on mixed, seeded with
 * a generated power-law graph (social-graph.ts, social-seed.ts), then driven through the web
 * app's JSON API with the DeathStarBench-style request mix (social-mix.ts):
 *
 *  (a) closed loop at a few concurrency levels: throughput, p50/p99 per request kind, repeated;
 *  (b) open loop (Poisson arrivals, latency from the intended send time) at rising rates, to
 *      the max sustainable rate: the highest whose p99 stays under the limit with < 1% errors
 *      (searchMaxRate, a failing rate run twice, as the echo open loop does).
 *
 * Every run records each process's CPU (services and web, from /proc) and the load generator's.
 * The stack is fresh per transport (new databases), and the graph and mix use the same seed on
 * every transport, so they all serve the same network.
 */
import { closedLoop } from '../load/closed-loop.js';
import { openLoop, type OpenLoopFigures } from '../load/open-loop.js';
import { summarise, type Repeated, type RunFigures } from '../load/run.js';
import { rate } from '../report/format.js';
import { renderSocial } from '../report/social-report.js';
import { stackCpuWindow } from '../stack/stack-cpu.js';
import type { StackProcessName, StackTransport } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import { describeRun } from './closed-loop-workload.js';
import { failsOnlyTwice, searchMaxRate, stoppedBecause } from './open-loop-workload.js';
import { activityPicker, generateGraph, seededRandom } from './social-graph.js';
import { MIX_SHARES, socialMix } from './social-mix.js';
import { seedGraph } from './social-seed.js';
import { BENCH_BCRYPT_COST, stackTransports, withStack } from './with-stack.js';
import type { Workload } from './workload.js';

const GRAPH_SEED = 20_251_123;

/** CPU of each stack process during a run, % of one core. */
export type StackCpu = Partial<Record<StackProcessName, number>>;

export interface SocialClosedCase extends Repeated {
  concurrency: number;
  /** Each repetition's stack CPU, in the order of `runs`. */
  stackCpu: StackCpu[];
}

export interface SocialStep extends OpenLoopFigures {
  stackCpu: StackCpu;
}

export interface SeedFigures {
  users: number;
  follows: number;
  posts: number;
  seconds: number;
  maxFollowers: number;
  medianFollowers: number;
}

export interface SocialTarget {
  transport: StackTransport;
  seed?: SeedFigures;
  closedLoop: SocialClosedCase[];
  steps: SocialStep[];
  maxSustainableRate: number | null;
  stoppedBecause: string;
  /** Wall time for this transport: stack start, seeding, measuring, stop. */
  seconds: number;
  error?: string;
}

export interface SocialSection {
  users: number;
  followsPerUser: number;
  seedPosts: number;
  /** How the graph was written: through the services' typed clients, not the web API. */
  seededThrough: string;
  bcryptCost: number;
  shares: Record<string, number>;
  p99LimitMs: number;
  maxErrorShare: number;
  targets: SocialTarget[];
}

/** Why an open-loop step fails, or undefined if the rate held. */
export function socialFailure(step: OpenLoopFigures, p99LimitMs: number, maxErrorShare: number): string | undefined {
  const share = step.errors / Math.max(1, step.count + step.errors);
  if (step.count === 0) return `no request answered at ${rate(step.rate)}/s`;
  if (share >= maxErrorShare) return `${(share * 100).toFixed(1)}% errors at ${rate(step.rate)}/s`;
  if (step.p99 > p99LimitMs) return `p99 ${step.p99.toFixed(1)} ms > ${p99LimitMs} ms at ${rate(step.rate)}/s`;
  return undefined;
}

export const socialWorkload: Workload<'social'> = {
  name: 'social',
  title: 'Social mix (the whole application, through the web API)',
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
    for (const transport of stackTransports(settings)) {
      const target: SocialTarget = {
        transport,
        closedLoop: [],
        steps: [],
        maxSustainableRate: null,
        stoppedBecause: '',
        seconds: 0,
      };
      section.targets.push(target);
      const started = performance.now();
      try {
        await withStack(context, 'social', transport, async (stack) => {
          const random = seededRandom(GRAPH_SEED);
          const graph = generateGraph(s.users, s.followsPerUser, random);
          const pickActive = activityPicker(s.users, random);
          const seedStart = performance.now();
          const users = await seedGraph(stack, graph, s.seedPosts, pickActive, random);
          target.seed = seedFigures(graph.follows.length, graph.followers, s.seedPosts, seedStart);
          progress.line(
            `social ${transport.padEnd(7)} seeded ${users.length} users, ${graph.follows.length} follows, ` +
              `${s.seedPosts} posts in ${target.seed.seconds.toFixed(1)} s`,
          );
          const api = new WebApi(stack.webUrl, {
            connections: Math.max(...s.concurrency, 64),
            timeoutMs: settings.timeoutMs,
          });
          try {
            const mix = socialMix(api, users, pickActive, random);
            const cpu = stackCpuWindow(stack);
            const runs = new Map<number, { figures: RunFigures[]; cpu: StackCpu[] }>();
            for (let rep = 1; rep <= settings.repetitions; rep++) {
              for (const concurrency of s.concurrency) {
                const figures = await closedLoop(mix, cpu.source, {
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
                progress.line(`social ${transport.padEnd(7)} closed c=${concurrency}${reps}  ${describeRun(figures)}`);
              }
            }
            for (const [concurrency, entry] of runs) {
              target.closedLoop.push({ concurrency, stackCpu: entry.cpu, ...summarise(entry.figures) });
            }
            /** One open-loop step at `offered`: why it failed, or undefined if it held. */
            const step = async (offered: number): Promise<string | undefined> => {
              const figures = await openLoop(mix, cpu.source, {
                rate: offered,
                warmupMs: settings.warmupMs,
                durationMs: settings.durationMs,
                maxOutstanding: s.openLoop.maxOutstanding,
                byKind: true,
              });
              stack.assertAlive();
              target.steps.push({ ...figures, stackCpu: cpu.take() });
              progress.line(
                `social ${transport.padEnd(7)} open ${rate(offered).padStart(6)}/s offered  ${describeRun(figures)}`,
              );
              return socialFailure(figures, s.openLoop.p99LimitMs, s.maxErrorShare);
            };
            const failures = new Map<number, string>();
            target.maxSustainableRate = await searchMaxRate(s.openLoop, failsOnlyTwice(step, failures));
            target.stoppedBecause = stoppedBecause(failures);
          } finally {
            await api.close();
          }
        });
      } catch (err) {
        target.error = err instanceof Error ? err.message : String(err);
        target.stoppedBecause = 'failed';
        progress.line(`social ${transport}: FAILED: ${target.error}`);
      }
      target.seconds = (performance.now() - started) / 1000;
      progress.line(
        `social ${transport.padEnd(7)} max sustainable ${target.maxSustainableRate === null ? 'none' : `${rate(target.maxSustainableRate)}/s`}` +
          ` (${target.stoppedBecause}); ${target.seconds.toFixed(0)} s in all`,
      );
    }
    return section;
  },
  render: (section, results) => renderSocial(section, results),
};

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
