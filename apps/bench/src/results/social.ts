/**
 * The shape of results.json's social section: the graph and mix, and per transport the mix
 * driven two ways (through the web API, straight to the services) — closed loop, open-loop
 * steps to the max sustainable rate, every stack process's CPU, and where each kind of
 * request's time went.
 */
import type { OpenLoopFigures } from '../load/open-loop.js';
import type { Repeated } from '../load/run.js';
import type { StackProcessName, StackTransport } from '../stack/stack.js';

/** The two ways the mix is driven, each a field of SocialTarget. */
export const SOCIAL_MODES = ['web', 'direct'] as const;
export type SocialModeName = (typeof SOCIAL_MODES)[number];

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

/** Where one kind of request's time went, from its sampled traces (workloads/social-breakdown.ts). */
export interface KindBreakdown {
  kind: string;
  /** Sampled requests whose trace came back whole enough to split. */
  traces: number;
  /** Transport hops per request (the most common count). */
  hops: number;
  /** Medians over the sampled requests, ms. */
  totalMs: number;
  edgeMs: number;
  transportMs: number;
  handlerMs: number;
  databaseMs: number;
  /** Time in transport over time in all, summed over the sampled requests. */
  transportShare: number;
  /** Calls whose handler's span never arrived (a lost export, a dropped span), summed. */
  unmatchedCalls: number;
}

/** The mix driven one way on one transport. */
export interface SocialMode {
  closedLoop: SocialClosedCase[];
  steps: SocialStep[];
  maxSustainableRate: number | null;
  stoppedBecause: string;
  /** The run traced for the breakdown: open loop at a quarter of the max sustainable rate. */
  traced?: SocialStep;
  /** Where a request's time went, per kind (empty when no trace came back). */
  breakdown: KindBreakdown[];
}

export interface SocialTarget {
  transport: StackTransport;
  seed?: SeedFigures;
  web: SocialMode;
  direct: SocialMode;
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
