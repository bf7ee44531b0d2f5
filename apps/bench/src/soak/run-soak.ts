/**
 * One transport's soak: the whole application (stack/, web app included) seeded with the
 * social graph (workloads/social-graph.ts, social-seed.ts), `clients` of its users watching
 * their live timeline over notify's WebSocket, and the social request mix (social-mix.ts)
 * through the web API at a steady rate for the whole duration. Every few seconds each
 * process's memory and open descriptors are read from /proc and a progress line printed.
 *
 * Notifications: for every post the mix writes, the author's followers are read from follows
 * right after the write (close to when notify reads them for its fan-out); each of those
 * followers (and the author) who is a watching client should receive it. Deliveries are
 * tallied `NOTIFY_GRACE_MS` after the write; anything not there by then counts as missed.
 *
 * Memory slope: the least-squares slope of RSS after warm-up (the first quarter of the run,
 * at least 30 s, at most 5 minutes), in MiB per minute.
 */
import { performance } from 'node:perf_hooks';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { client, chirpTransportConfig, follows, type Post } from '@chirp/contracts';
import { createTransport } from '@chirp/transport';
import { sleep } from '@chirp/transport/testing';
import { LiveFollowers } from '../load/live-followers.js';
import type { Progress } from '../progress.js';
import { startStack, type StackProcessName, type StackTransport } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import { activityPicker, generateGraph, seededRandom } from '../workloads/social-graph.js';
import { TraceSampler } from '../load/trace-sampler.js';
import { socialMix } from '../workloads/social-mix.js';
import { seedGraph } from '../workloads/social-seed.js';
import { BENCH_BCRYPT_COST } from '../workloads/with-stack.js';
import { MixLoad, type MixCounts } from './mix-load.js';
import type { SoakOptions } from './options.js';
import { sampleTree, slope } from './proc-sample.js';

const GRAPH_SEED = 20_251_124;
const FOLLOWS_PER_USER = 5;
const SEED_POSTS = 200;
const NOTIFY_GRACE_MS = 5_000;
const MIB = 1024 * 1024;

export interface ProcessFigures {
  process: StackProcessName;
  rssStartMiB: number;
  rssEndMiB: number;
  /** Least-squares slope of RSS after warm-up; null with fewer than 3 samples after it (a run too short). */
  rssSlopeMiBPerMin: number | null;
  fdsStart: number;
  fdsEnd: number;
  /** [minutes since the load started, RSS MiB], every sample. */
  rss: [number, number][];
}

export interface SoakTransport {
  transport: StackTransport;
  minutes: number;
  warmupMinutes: number;
  requests: MixCounts;
  /** Successful requests per second over the run. */
  okPerSecond: number;
  clients: number;
  socketDisconnects: number;
  notifications: { posts: number; expected: number; received: number; missed: number; duplicates: number };
  processes: ProcessFigures[];
  error?: string;
}

interface Written {
  post: Post;
  at: number;
  /** Watching clients who should get it; resolved once followers were read. */
  expected: Promise<number>;
}

export async function soakTransport(
  transport: StackTransport,
  options: SoakOptions,
  progress: Progress,
): Promise<SoakTransport> {
  const logDir = await mkdtemp(path.join(os.tmpdir(), `chirp-soak-${transport}-`));
  const stack = await startStack({
    transport,
    amqpUrl: options.amqpUrl,
    postgresUrl: options.postgresUrl,
    logDir,
    env: { AUTH_BCRYPT_COST: String(BENCH_BCRYPT_COST) },
    onDeath: (message) => progress.line(`${transport}: ${message}`),
  });
  progress.line(`${transport}: stack up (logs in ${logDir}); seeding ${options.users} users`);
  const caller = createTransport(chirpTransportConfig(stack.clientEnv));
  const api = new WebApi(stack.webUrl, { connections: 32, timeoutMs: 10_000 });
  let watchers: LiveFollowers | undefined;
  try {
    const random = seededRandom(GRAPH_SEED);
    const graph = generateGraph(options.users, FOLLOWS_PER_USER, random);
    const pickActive = activityPicker(options.users, random);
    const users = await seedGraph(stack, graph, SEED_POSTS, pickActive, random);
    const watching = users.slice(0, options.clients);
    const watcherIds = new Set(watching.map((u) => u.id));
    watchers = await LiveFollowers.open(stack.notifyUrl, watching);
    progress.line(`${transport}: ${watching.length} WebSocket clients open; soaking ${options.minutes} min`);

    const followsClient = client(caller, follows);
    const expectedFor = async (authorId: string): Promise<number> => {
      let count = watcherIds.has(authorId) ? 1 : 0; // the author's own tabs get it too
      let cursor: string | undefined;
      do {
        const page = await followsClient.followers({ userId: authorId, limit: 1000, ...(cursor ? { cursor } : {}) });
        count += page.userIds.filter((id) => watcherIds.has(id)).length;
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return count;
    };
    const written: Written[] = [];
    const notifications = { posts: 0, expected: 0, received: 0, missed: 0, duplicates: 0 };
    const settle = async (until: number): Promise<void> => {
      while (written.length > 0 && written[0]!.at <= until) {
        const { post, expected } = written.shift()!;
        const due = await expected.catch(() => 0); // followers unreadable: counted as not expected
        const delivery = watchers!.settle(post.id);
        notifications.posts++;
        notifications.expected += due;
        notifications.received += delivery.received;
        notifications.duplicates += delivery.duplicates;
        notifications.missed = notifications.expected - notifications.received;
      }
    };
    const load = new MixLoad(socialMix(api, { users, pickActive, random }, new TraceSampler(0)), {
      rate: options.rate,
      maxOutstanding: options.rate * 10,
      onReply: (kind, reply) => {
        if (kind !== 'post') return;
        const { post } = reply as { post: Post };
        const expected = expectedFor(post.authorId);
        expected.catch(() => {});
        written.push({ post, at: performance.now(), expected });
      },
    });

    const durationMs = options.minutes * 60_000;
    const warmupMs = Math.min(5 * 60_000, Math.max(30_000, durationMs / 4));
    const samples = new Map<StackProcessName, { at: number; rssBytes: number; fds: number }[]>();
    const sample = (since: number): void => {
      for (const [name, pid] of Object.entries(stack.pids()) as [StackProcessName, number][]) {
        const reading = sampleTree(pid);
        if (reading === undefined) continue;
        if (!samples.has(name)) samples.set(name, []);
        samples.get(name)!.push({ at: performance.now() - since, ...reading });
      }
    };
    const started = performance.now();
    load.start();
    sample(started);
    while (performance.now() - started < durationMs) {
      await sleep(Math.min(options.sampleEveryMs, durationMs - (performance.now() - started)));
      sample(started);
      await settle(performance.now() - NOTIFY_GRACE_MS);
      progress.line(progressLine(transport, started, load.counts, watchers, notifications, samples));
      stack.assertAlive();
    }
    await load.stop();
    const elapsed = performance.now() - started;
    await sleep(NOTIFY_GRACE_MS);
    await settle(Infinity);

    return {
      transport,
      minutes: elapsed / 60_000,
      warmupMinutes: warmupMs / 60_000,
      requests: load.counts,
      okPerSecond: load.counts.ok / (elapsed / 1000),
      clients: watching.length,
      socketDisconnects: watchers.disconnects,
      notifications,
      processes: [...samples].map(([name, series]) => processFigures(name, series, warmupMs)),
    };
  } finally {
    watchers?.close();
    await api.close();
    await caller.close().catch(() => {});
    await stack.stop();
  }
}

function processFigures(
  process: StackProcessName,
  series: { at: number; rssBytes: number; fds: number }[],
  warmupMs: number,
): ProcessFigures {
  const first = series[0]!;
  const last = series[series.length - 1]!;
  const rss = series.map((s): [number, number] => [s.at / 60_000, s.rssBytes / MIB]);
  const afterWarmup = rss.filter(([minutes]) => minutes * 60_000 >= warmupMs);
  return {
    process,
    rssStartMiB: first.rssBytes / MIB,
    rssEndMiB: last.rssBytes / MIB,
    rssSlopeMiBPerMin: afterWarmup.length >= 3 ? slope(afterWarmup) : null,
    fdsStart: first.fds,
    fdsEnd: last.fds,
    rss,
  };
}

function progressLine(
  transport: StackTransport,
  started: number,
  counts: MixCounts,
  watchers: LiveFollowers,
  notifications: SoakTransport['notifications'],
  samples: Map<StackProcessName, { rssBytes: number; fds: number }[]>,
): string {
  const seconds = (performance.now() - started) / 1000;
  const errors = Object.values(counts.errors).reduce((sum, n) => sum + n, 0);
  const memory = [...samples]
    .map(([name, series]) => `${name} ${Math.round(series[series.length - 1]!.rssBytes / MIB)}`)
    .join(' ');
  return (
    `${transport} ${Math.round(seconds)} s: ${counts.ok} ok (${Math.round(counts.ok / seconds)}/s), ${errors} errors, ` +
    `ws ${watchers.open}/${watchers.size} open, notifications missed ${notifications.missed}/${notifications.expected}; ` +
    `RSS MiB ${memory}`
  );
}
