/**
 * The shape of results.json's faults section: the plan every transport's drill followed, and
 * per transport one episode per fault — the load's calls and errors, writes acknowledged and
 * then lost or duplicated, notifications lost, the time to recover, and the rate over time.
 * The fault names and the timeline's interval are here too: they say what the figures mean.
 */
import type { StackTransport } from '../stack/stack.js';

/** Every fault, in the order the report shows them. */
export const FAULT_NAMES = ['restart-posts', 'broker-cut', 'udp-loss-5', 'udp-loss-20'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** An episode's timeline counts acknowledgements and errors per interval of this many ms. */
export const BUCKET_MS = 250;

export interface FaultPlan {
  /** In the order run; each transport takes those that apply to it, at most `faultsPerTransport` (null: all). */
  faults: FaultName[];
  faultsPerTransport: number | null;
  /** Creates per second, over `authors` authors, each followed by all `followers`. */
  rate: number;
  authors: number;
  followers: number;
  attemptTimeoutMs: number;
  retryBudgetMs: number;
  /** Before the first episode: until the load runs at 80% of its rate, at most this long. */
  warmupMs: number;
  beforeMs: number;
  /** How long datagram loss lasts. */
  lossMs: number;
  /** After the fault (or its end): at least minAfterMs, then until the rate is back, at most maxAfterMs. */
  minAfterMs: number;
  maxAfterMs: number;
  /** Kept after the rate is back, so the chart shows the recovery. */
  tailMs: number;
  /** After the load stops, how long notifications may still arrive. */
  graceMs: number;
}

/** What the load recorded in one episode (workloads/faults-measure.ts). */
export interface EpisodeLoadFigures {
  /** Attempts sent in the episode, retries included. */
  calls: number;
  errors: number;
  errorCodes: Record<string, number>;
  /** Writes started in the episode, and how they ended. */
  writes: number;
  acknowledged: number;
  gaveUp: number;
  /** Acknowledgements per second before the fault. */
  preFaultRate: number;
  firstSuccessAfterMs: number | null;
  rateBackAfterMs: number | null;
  /** Per BUCKET_MS from the episode's start: acknowledgements and failed calls settled in it. */
  timeline: { acks: number[]; errors: number[] };
}

export interface FaultEpisode extends EpisodeLoadFigures {
  fault: FaultName;
  transport: StackTransport;
  /** From the episode's start: the fault, when it was lifted (= faultAtMs for an instant one), the end. */
  faultAtMs: number;
  healedAtMs: number;
  durationMs: number;
  /** What the injector and the proxy said. */
  details: string[];
  /** Acknowledged posts the service no longer has. */
  lost: number;
  duplicates: number;
  storedWithoutAck: number;
  notifications: { expected: number; received: number; lost: number; duplicates: number };
}

export interface FaultsTransport {
  transport: StackTransport;
  episodes: FaultEpisode[];
  /** WebSocket closes while watching (each reopened). */
  socketDisconnects: number;
  error?: string;
}

export interface FaultsSection {
  plan: FaultPlan;
  transports: FaultsTransport[];
}
