/**
 * The transports compared on the running application, from the Transports page: one action made
 * `runs` times (or for BUDGET_PER_TRANSPORT_MS each) over each transport every service is served on
 * (COMPARE_TRANSPORTS; npm start serves http, tcp and udp, and amqp when RabbitMQ answers), then
 * once more traced, to show where one request's time went. Every hop of the action goes over the
 * transport being measured, the services' onward calls included (@chirp/transport's `via`).
 *
 * The transports take turns, one run each, one run at a time. The timed runs are not traced (an
 * unsampled context per run), as in a benchmark; each transport gets a few untimed runs first,
 * so connections are open before the clock starts. One comparison runs at a time in this
 * process; each session keeps its latest.
 */
import 'server-only';
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT, trace as tracing } from '@opentelemetry/api';
import { TRANSPORT_KINDS, via, type TransportKind } from '@chirp/transport';
import type { User } from '@chirp/contracts';
import { SERVICES, servicesFor, transport, untraced, type Services } from './services.js';
import { distribution, logEdges, type Distribution } from './distribution.js';
import { sessionKey, MAX_SESSIONS } from './traces.js';

interface CompareAction {
  label: string;
  runs: number;
  /** The calls one run makes, as the page that does it makes them. */
  hops: string;
  run(call: Services, user: User, token: string): Promise<unknown>;
}

export const COMPARE_ACTIONS = {
  home: {
    label: 'Read your home timeline',
    runs: 200,
    hops: 'web → auth.verify, then web → posts.homeTimeline → follows.following: 3 hops',
    run: async (call, user, token) => {
      await call.auth.verify({ token });
      return call.posts.homeTimeline({ userId: user.id });
    },
  },
  profile: {
    label: 'Open your profile page',
    runs: 200,
    hops: 'web → auth.getProfile, posts.userTimeline and follows.counts at once: 3 hops',
    run: (call, user) =>
      Promise.all([
        call.auth.getProfile({ userId: user.id }),
        call.posts.userTimeline({ userId: user.id }),
        call.follows.counts({ userId: user.id }),
      ]),
  },
} satisfies Record<string, CompareAction>;

export type CompareActionName = keyof typeof COMPARE_ACTIONS;

export function isCompareAction(name: string): name is CompareActionName {
  return Object.hasOwn(COMPARE_ACTIONS, name);
}

/** Untimed runs per transport before the timed ones: connections opened, code paths warm. */
const WARM_UP_RUNS = 10;
/**
 * The timed runs stop after this much per transport even if fewer than the action's `runs` were
 * made, so a comparison takes seconds on a slow machine too (the embedded database makes a home
 * timeline read tens of milliseconds there).
 */
export const BUDGET_PER_TRANSPORT_MS = 3_000;
export interface KindResult extends Distribution {
  kind: TransportKind;
  runs: number;
  errors: number;
  /** What the first failed run said, when one did. */
  firstError?: string;
  /** The one traced run's trace id: its spans are the per-hop split. */
  traceId: string;
}

export interface Comparison {
  action: CompareActionName;
  startedAt: number;
  elapsedMs: number;
  /** The histograms' bucket edges, in milliseconds, the same for every transport. */
  edgesMs: number[];
  results: KindResult[];
}

/** Transports every service the web app calls is served on: what a comparison can use. */
export function comparableKinds(): TransportKind[] {
  const routed = transport();
  return TRANSPORT_KINDS.filter((kind) => SERVICES.every((service) => routed.servesOn(service, kind)));
}

// On globalThis: every route bundle sees the one store and the one comparison under way.
const holder = globalThis as typeof globalThis & {
  __chirpComparisons?: Map<string, Comparison>;
  __chirpComparing?: boolean;
};
const latest: Map<string, Comparison> = (holder.__chirpComparisons ??= new Map());

export class CompareBusyError extends Error {}

/**
 * Run `action` over every comparable transport, the transports taking turns run by run (so a
 * machine that warms up or gets busy meanwhile weighs on each alike), and keep the result as the
 * session's latest.
 */
export async function compareTransports(action: CompareActionName, user: User, token: string): Promise<Comparison> {
  if (holder.__chirpComparing) throw new CompareBusyError('Another comparison is running; try again in a few seconds.');
  holder.__chirpComparing = true;
  try {
    const startedAt = Date.now();
    const { runs, run } = COMPARE_ACTIONS[action] as CompareAction;
    const tallies = comparableKinds().map(
      (kind) => new Tally(kind, () => run(servicesFor('compare', via(untraced(), kind)), user, token)),
    );
    for (let i = 0; i < WARM_UP_RUNS; i++) for (const tally of tallies) await tally.once();
    for (const tally of tallies) tally.reset();
    const until = performance.now() + BUDGET_PER_TRANSPORT_MS * tallies.length;
    for (let i = 0; i < runs && performance.now() < until; i++) for (const tally of tallies) await tally.once();
    const traceIds: string[] = [];
    for (const tally of tallies) traceIds.push(await tracedRun(tally.kind, COMPARE_ACTIONS[action], user, token));
    const edgesMs = logEdges(tallies.flatMap((t) => t.durations));
    const comparison: Comparison = {
      action,
      startedAt,
      elapsedMs: Date.now() - startedAt,
      edgesMs,
      results: tallies.map((tally, i) => ({
        kind: tally.kind,
        runs: tally.durations.length,
        errors: tally.errors,
        ...(tally.firstError !== undefined && { firstError: tally.firstError }),
        traceId: traceIds[i]!,
        ...distribution(tally.durations, edgesMs),
      })),
    };
    const key = sessionKey(token);
    latest.delete(key);
    latest.set(key, comparison);
    if (latest.size > MAX_SESSIONS) latest.delete(latest.keys().next().value!);
    return comparison;
  } finally {
    holder.__chirpComparing = false;
  }
}

/** One transport's runs: how long each that answered took, and how many failed. */
class Tally {
  durations: number[] = [];
  errors = 0;
  firstError: string | undefined;

  constructor(
    readonly kind: TransportKind,
    readonly run: () => Promise<unknown>,
  ) {}

  async once(): Promise<void> {
    const start = performance.now();
    try {
      await this.run();
      this.durations.push(performance.now() - start);
    } catch (err) {
      this.errors++;
      this.firstError ??= (err as Error).message;
    }
  }

  reset(): void {
    this.durations = [];
    this.errors = 0;
    this.firstError = undefined;
  }
}

/** The action once more over `kind`, traced under a root span of its own (its tree is this transport's alone). */
async function tracedRun(kind: TransportKind, action: CompareAction, user: User, token: string): Promise<string> {
  const span = tracing.getTracer('@chirp/web').startSpan(`compare over ${kind}`, { root: true });
  const root = tracing.isSpanContextValid(span.spanContext()) ? tracing.setSpan(ROOT_CONTEXT, span) : untraced();
  const call = servicesFor('compare', via(root, kind));
  await action.run(call, user, token).catch(() => {});
  span.end();
  return call.trace.traceId;
}

export function latestComparison(token: string): Comparison | undefined {
  return latest.get(sessionKey(token));
}
