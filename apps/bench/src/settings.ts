/**
 * Every setting of a benchmark run, from the command line (and AMQP_URL from the
 * environment). The whole object is written into results.json, so a report always says
 * exactly how its figures were made.
 *
 * Defaults (full run):  duration 1.5s, warm-up 0.4s, 3 repetitions, concurrency 1,16,64,256,
 *                       echo payloads 64 B, 1 KiB, 16 KiB; open loop from 1,000 calls/s,
 *                       doubling until p99 passes 10 ms, then 3 bisections (±9%).
 * --quick:              duration 1s, warm-up 0.3s, 1 repetition, concurrency 1,64; open loop
 *                       from 2,000 calls/s, doubling only — a complete report in 2–3 minutes.
 * Social mix:           1,000 users (quick 200), 10 follows each (quick 5), 400 seed posts
 *                       (quick 100); closed loop at 8 and 32 (quick 16); open loop from 50/s
 *                       (quick 100/s) while p99 ≤ 250 ms and errors < 1%.
 * Notify:               fan-out to 1, 10, 100 followers, 30 posts each (quick 10), 3 s grace.
 * Embedded (npm start): 300 home timelines one at a time (quick 100) after 1,000 unmeasured
 *                       (quick 300); 100 fresh tokens verified (quick 30).
 */
import { TRANSPORT_KINDS, type TransportKind } from '@chirp/transport';
import { DEFAULT_POSTGRES_URL } from './stack/databases.js';

export const WORKLOAD_NAMES = [
  'rpc',
  'baselines',
  'signing',
  'telemetry',
  'openloop',
  'social',
  'notify',
  'embedded',
  'faults',
] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface OpenLoopSettings {
  /** First arrival rate (calls/s), or every rate to try when `rates` is set. */
  startRate: number;
  /** Explicit rates instead of stepping (from --rate=a,b,c). */
  rates: number[] | null;
  /** Each step multiplies (or, while the first rate fails, divides) the rate by this. */
  stepFactor: number;
  /** Once a rate held and the next failed, this many bisections (geometric) between them. */
  refinements: number;
  /** Never offer more than this, nor less than minRate. */
  maxRate: number;
  minRate: number;
  /** A rate is sustainable while p99 stays at or under this. */
  p99LimitMs: number;
  /** Calls in flight past which arrivals are dropped (and the rate fails). */
  maxOutstanding: number;
}

export interface SocialSettings {
  /** Users in the generated graph. */
  users: number;
  /** Follows each user makes as it joins (preferential attachment: follower counts follow a power law). */
  followsPerUser: number;
  /** Posts written while seeding, so timelines are not empty. */
  seedPosts: number;
  /** Closed-loop concurrency levels. */
  concurrency: number[];
  /** The open-loop rate search; a rate holds while p99 ≤ its p99LimitMs and errors < maxErrorShare. */
  openLoop: OpenLoopSettings;
  maxErrorShare: number;
}

export interface EmbeddedSettings {
  /** Home timelines measured per transport, one at a time… */
  requests: number;
  /** …after this many unmeasured (the processes' code compiled and warm, as after some clicking). */
  warmup: number;
  /** Fresh session tokens verified once each, straight at auth. */
  verifies: number;
}

export interface NotifySettings {
  /** Followers connected by WebSocket in each case. */
  fanouts: number[];
  /** Posts per case and repetition. */
  posts: number;
  /** How long after its create call a delivery may still arrive before it counts as missed. */
  graceMs: number;
}

export interface Settings {
  quick: boolean;
  workloads: WorkloadName[];
  transports: TransportKind[];
  /** Also measure TRANSPORT=mixed (the social and notify workloads; the others measure one transport at a time). */
  mixed: boolean;
  durationMs: number;
  warmupMs: number;
  repetitions: number;
  concurrency: number[];
  payloadBytes: number[];
  timeoutMs: number;
  openLoop: OpenLoopSettings;
  social: SocialSettings;
  notify: NotifySettings;
  embedded: EmbeddedSettings;
  amqpUrl: string;
  natsUrl: string;
  /** PostgreSQL's maintenance database, where the stack's databases are created and dropped. */
  postgresUrl: string;
  /** Where the timestamped result folder is made (default: bench/results at the repo root). */
  outDir: string | null;
  /** Run every server process under `node --cpu-prof`, profiles into the result folder. */
  profile: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --quick                 a second per case, 1 repetition, concurrency 1 and 64 (CI)
  --only=LIST             workloads to run, of: ${WORKLOAD_NAMES.join(', ')} (default: all)
  --transports=LIST       transports to measure, of: ${[...TRANSPORT_KINDS, 'mixed'].join(', ')} (default: all);
                          their baselines come with them; mixed is measured by social and notify only
  --duration=TIME         measured time per case, e.g. 2s, 500ms (a bare number is seconds)
  --warmup=TIME           unmeasured time before each case
  --reps=N                repetitions of each case (median and min–max are reported)
  --concurrency=LIST      closed-loop concurrency levels, e.g. 1,16,64,256
  --rate=N | --rate=LIST  open loop: first arrival rate (calls/s), or exactly these rates
  --p99=TIME              open loop: the p99 a sustainable rate stays under (default 10ms)
  --users=N               social mix: users in the generated graph (default 1000, quick 200)
  --out=DIR               write the result folder under DIR instead of bench/results
  --profile               run every server process (and every process of a stack) under node --cpu-prof
                          (profiles/ in the result folder)
  --rerender=DIR          only rewrite report.md and charts of the run in DIR from its results.json
  --help                  this text

Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), NATS_URL (default nats://127.0.0.1:4222), BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/postgres: social and notify create their databases there).`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function defaultSettings(quick: boolean, env: Record<string, string | undefined> = {}): Settings {
  return {
    quick,
    workloads: [...WORKLOAD_NAMES],
    transports: [...TRANSPORT_KINDS],
    mixed: true,
    durationMs: quick ? 1_000 : 1_500,
    warmupMs: quick ? 300 : 400,
    repetitions: quick ? 1 : 3,
    concurrency: quick ? [1, 64] : [1, 16, 64, 256],
    payloadBytes: [64, 1024, 16 * 1024],
    timeoutMs: 5_000,
    openLoop: {
      startRate: quick ? 2_000 : 1_000,
      rates: null,
      stepFactor: 2,
      refinements: quick ? 0 : 3,
      maxRate: 200_000,
      minRate: 100,
      p99LimitMs: 10,
      maxOutstanding: 5_000,
    },
    social: {
      users: quick ? 200 : 1_000,
      followsPerUser: quick ? 5 : 10,
      seedPosts: quick ? 100 : 400,
      concurrency: quick ? [16] : [8, 32],
      openLoop: {
        startRate: quick ? 100 : 50,
        rates: null,
        stepFactor: 2,
        refinements: quick ? 0 : 2,
        maxRate: 20_000,
        minRate: 10,
        p99LimitMs: 250,
        maxOutstanding: 2_000,
      },
      maxErrorShare: 0.01,
    },
    notify: { fanouts: [1, 10, 100], posts: quick ? 10 : 30, graceMs: 3_000 },
    embedded: { requests: quick ? 100 : 300, warmup: quick ? 300 : 1_000, verifies: quick ? 30 : 100 },
    amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    postgresUrl: env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
    outDir: null,
    profile: false,
  };
}

/** Parse the command line; throws UsageError with a sentence naming the bad flag. */
export function parseArgs(argv: string[], env: Record<string, string | undefined>): Settings | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const settings = defaultSettings(argv.includes('--quick'), env);
  for (const arg of argv) {
    if (arg === '--quick') continue;
    if (arg === '--profile') {
      settings.profile = true;
      continue;
    }
    const match = /^--([a-z0-9]+)=(.*)$/.exec(arg);
    if (match === null) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const [, flag, value] = match as unknown as [string, string, string];
    const where = `--${flag}=${value}`;
    switch (flag) {
      case 'only':
        settings.workloads = list(value, WORKLOAD_NAMES, where);
        break;
      case 'transports': {
        const chosen = list(value, [...TRANSPORT_KINDS, 'mixed'] as const, where);
        settings.transports = chosen.filter((t): t is TransportKind => t !== 'mixed');
        settings.mixed = chosen.includes('mixed');
        break;
      }
      case 'duration':
        settings.durationMs = duration(value, where);
        break;
      case 'warmup':
        settings.warmupMs = duration(value, where, true);
        break;
      case 'reps':
        settings.repetitions = positiveInt(value, where);
        break;
      case 'concurrency':
        settings.concurrency = value.split(',').map((v) => positiveInt(v, where));
        break;
      case 'rate': {
        const rates = value.split(',').map((v) => positiveInt(v, where));
        settings.openLoop.startRate = rates[0]!;
        settings.openLoop.rates = rates.length > 1 ? rates.sort((a, b) => a - b) : null;
        break;
      }
      case 'p99':
        settings.openLoop.p99LimitMs = duration(value, where, false, 'ms');
        break;
      case 'users':
        settings.social.users = positiveInt(value, where);
        break;
      case 'out':
        if (value === '') throw new UsageError(`${where}: give a folder`);
        settings.outDir = value;
        break;
      default:
        throw new UsageError(`unknown option --${flag}`);
    }
  }
  return settings;
}

function list<T extends string>(value: string, allowed: readonly T[], where: string): T[] {
  const items = value.split(',').map((v) => v.trim().toLowerCase());
  const bad = items.filter((v) => !(allowed as readonly string[]).includes(v));
  if (items.length === 0 || bad.length > 0 || value.trim() === '') {
    throw new UsageError(`${where}: ${bad.join(', ') || 'nothing'} is not one of ${allowed.join(', ')}`);
  }
  return allowed.filter((a) => items.includes(a));
}

function positiveInt(value: string, where: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${where}: ${JSON.stringify(value)} is not a positive integer`);
  return n;
}

/** `500ms`, `3s`, `1m`, or a bare number in `bareUnit`; in milliseconds. */
function duration(value: string, where: string, zeroOk = false, bareUnit: 's' | 'ms' = 's'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const scale = { ms: 1, s: 1_000, m: 60_000 };
  const ms = match === null ? NaN : Number(match[1]) * scale[(match[2] as keyof typeof scale | undefined) ?? bareUnit];
  if (!Number.isFinite(ms) || ms < 0 || (ms === 0 && !zeroOk)) {
    throw new UsageError(`${where}: ${JSON.stringify(value)} is not a duration (e.g. 500ms, 3s)`);
  }
  return ms;
}
