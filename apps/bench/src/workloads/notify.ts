/**
 * Notification latency: how long after a post is made its followers' open pages show it. On
 * each transport (and mixed), a poster with exactly N followers (N = 1, 10, 100), each follower
 * a WebSocket client of notify (package ws, `?token=` as a page on another host connects);
 * the poster posts through the web API (POST /api/posts), one post at a time, and every
 * follower's socket times the post's arrival from the start of that create call. The path
 * measured: web → posts (create, commit) → post.created event → notify → follows.followers →
 * every socket. A delivery not there `graceMs` after its create call started is missed.
 *
 * Posts are matched to deliveries by a unique text, since a delivery can arrive before the
 * create call returns the post's id. Repetitions are the outer loop, as elsewhere.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { LatencyRecorder } from '../load/latency.js';
import { spreadOf } from '../load/run.js';
import { ms } from '../report/format.js';
import type { NotifyRun, NotifySection, NotifyTarget } from '../results/notify.js';
import type { Stack } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import { seedGraph, type SeededUser } from './social-seed.js';
import { stackTransports, withStack } from './with-stack.js';
import type { Workload } from './workload.js';

/** Pause between one post's last delivery and the next post, so posts never overlap. */
const BETWEEN_POSTS_MS = 20;

export const notifyWorkload: Workload<'notify'> = {
  name: 'notify',
  title: 'Notification latency (post → WebSocket delivery)',
  async run(context) {
    const { settings, progress } = context;
    const { fanouts, posts, graceMs } = settings.notify;
    const section: NotifySection = { fanouts, postsPerCase: posts, graceMs, targets: [] };
    for (const transport of stackTransports(settings)) {
      const target: NotifyTarget = { transport, cases: [] };
      section.targets.push(target);
      try {
        await withStack(context, 'notify', transport, async (stack) => {
          const { posters, followers } = await seedFollowers(stack, fanouts);
          const api = new WebApi(stack.webUrl, { connections: 2, timeoutMs: settings.timeoutMs });
          const runs = new Map<number, NotifyRun[]>();
          try {
            for (let rep = 1; rep <= settings.repetitions; rep++) {
              for (const [i, fanout] of fanouts.entries()) {
                const sockets = await connectAll(stack, followers.slice(0, fanout), graceMs);
                try {
                  const run = await postAndTime(api, posters[i]!, sockets, posts, graceMs);
                  stack.assertAlive();
                  runs.set(fanout, [...(runs.get(fanout) ?? []), run]);
                  progress.line(
                    `notify ${transport.padEnd(7)} fan-out ${String(fanout).padStart(3)}  p50 ${ms(run.p50)} ms  ` +
                      `p99 ${ms(run.p99)} ms  max ${ms(run.maxMs)} ms  missed ${run.missed}/${run.expected}  ` +
                      `create p50 ${ms(run.createP50)} ms`,
                  );
                } finally {
                  for (const socket of sockets) socket.ws.terminate();
                }
              }
            }
          } finally {
            await api.close();
          }
          for (const [fanout, r] of runs) {
            target.cases.push({
              fanout,
              runs: r,
              p50: spreadOf(r.map((x) => x.p50)),
              p99: spreadOf(r.map((x) => x.p99)),
              missed: spreadOf(r.map((x) => x.missed)),
            });
          }
        });
      } catch (err) {
        target.error = err instanceof Error ? err.message : String(err);
        progress.line(`notify ${transport}: FAILED: ${target.error}`);
      }
    }
    return section;
  },
};

/** One poster per fan-out; the poster of fan-out N is followed by the first N followers. */
async function seedFollowers(
  stack: Stack,
  fanouts: number[],
): Promise<{ posters: SeededUser[]; followers: SeededUser[] }> {
  const most = Math.max(...fanouts);
  const usernames = [...fanouts.map((n) => `poster${n}`), ...Array.from({ length: most }, (_, i) => `follower${i}`)];
  const follows = fanouts.flatMap((n, poster) =>
    Array.from({ length: n }, (_, i): [number, number] => [fanouts.length + i, poster]),
  );
  const followers = usernames.map((_, user) => follows.filter(([, followee]) => followee === user).length);
  const users = await seedGraph(stack, { usernames, follows, followers }, 0, () => 0, Math.random);
  return { posters: users.slice(0, fanouts.length), followers: users.slice(fanouts.length) };
}

interface Follower {
  ws: WebSocket;
  /** Arrival time (performance.now()) of each post, by its text. */
  arrivals: Map<string, number>;
}

/** Open a socket per user and wait for each one's hello. */
async function connectAll(stack: Stack, users: SeededUser[], timeoutMs: number): Promise<Follower[]> {
  return Promise.all(
    users.map(
      (user) =>
        new Promise<Follower>((resolve, reject) => {
          const ws = new WebSocket(`${stack.notifyUrl}?token=${encodeURIComponent(user.token)}`);
          const follower: Follower = { ws, arrivals: new Map() };
          const timer = setTimeout(() => {
            ws.terminate();
            reject(new Error(`notify did not say hello to ${user.username} within ${timeoutMs} ms`));
          }, timeoutMs);
          ws.on('message', (data) => {
            const message = JSON.parse(String(data)) as { type?: string; post?: { text?: string } };
            if (message.type === 'hello') {
              clearTimeout(timer);
              resolve(follower);
            }
            if (message.type === 'post' && message.post?.text !== undefined) {
              follower.arrivals.set(message.post.text, performance.now());
            }
          });
          ws.on('error', (err) => {
            clearTimeout(timer);
            reject(new Error(`cannot open a socket to notify for ${user.username}: ${err.message}`));
          });
        }),
    ),
  );
}

/** `posts` posts one after another; each waits for every delivery or the grace period. */
async function postAndTime(
  api: WebApi,
  poster: SeededUser,
  followers: Follower[],
  posts: number,
  graceMs: number,
): Promise<NotifyRun> {
  const deliveries = new LatencyRecorder();
  const creates = new LatencyRecorder();
  const tag = randomBytes(4).toString('hex');
  let missed = 0;
  for (let i = 0; i < posts; i++) {
    const text = `notify bench ${tag} ${i}`;
    const sent = performance.now();
    await api.post(poster.token, text);
    creates.record(performance.now() - sent);
    const deadline = sent + graceMs;
    while (followers.some((f) => !f.arrivals.has(text)) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const f of followers) {
      const arrived = f.arrivals.get(text);
      if (arrived === undefined || arrived > deadline) missed++;
      else deliveries.record(arrived - sent);
      f.arrivals.delete(text);
    }
    await new Promise((resolve) => setTimeout(resolve, BETWEEN_POSTS_MS));
  }
  const summary = deliveries.summary();
  const createP50 = creates.summary().p50;
  deliveries.destroy();
  creates.destroy();
  const expected = posts * followers.length;
  return { ...summary, expected, received: expected - missed, missed, createP50 };
}
