/**
 * One transport's fault drill: the whole application started on it (stack/stack.ts, with the
 * lossy UDP proxy in front of posts on udp and mixed), authors and followers signed up, every
 * follower watching over notify's WebSocket, then the steady create load (faults-load.ts)
 * through one episode per fault:
 *
 *   |— before —|fault|— (loss lasts lossMs) —|— after: until the rate is back, within bounds —|— tail —|
 *
 * The first episode starts once the load runs at its rate; each later one's "before" is also
 * the settling time of the previous one. When the load has stopped and the last notifications
 * had time to arrive, every acknowledged post is read back (faults-verify.ts) and each episode
 * gets its figures: the load's (faults-measure.ts), what was lost or duplicated, and the
 * notifications of the posts written in it.
 */
import { performance } from 'node:perf_hooks';
import { auth, client, chirpTransportConfig, follows, posts, type Client } from '@chirp/contracts';
import { createTransport, type RoutedTransport } from '@chirp/transport';
import { sleep, UdpProxy } from '@chirp/transport/testing';
import { LiveFollowers } from '../load/live-followers.js';
import type { Progress } from '../progress.js';
import { rate } from '../report/format.js';
import type { FaultEpisode, FaultName, FaultPlan, FaultsTransport } from '../results/faults.js';
import type { Stack, StackTransport } from '../stack/stack.js';
import { FAULTS, type FaultSubject } from './faults-injectors.js';
import { CreateLoad, type Author } from './faults-load.js';
import { loadFigures, type EpisodeClock } from './faults-measure.js';
import { verifyWrites, type Verdict } from './faults-verify.js';
import { withStack } from './with-stack.js';
import type { SuiteContext } from './workload.js';

const PASSWORD = 'fault-drill-password';
const SETUP_AT_ONCE = 8;

export async function drill(
  transport: StackTransport,
  plan: FaultPlan,
  context: SuiteContext,
): Promise<FaultsTransport> {
  const faults = plan.faults
    .filter((f) => FAULTS[f].transports.includes(transport))
    .slice(0, plan.faultsPerTransport ?? undefined);
  let proxy: UdpProxy | undefined;
  const front = async (listen: string): Promise<string> => {
    await proxy?.close(); // the proxy of a first try at starting the stack (withStack tries twice)
    proxy = await UdpProxy.start({ target: listen });
    return proxy.address;
  };
  try {
    return await withStack(
      context,
      'faults',
      transport,
      (stack) => drillOn(stack, faults, plan, context.progress, proxy),
      {
        web: false, // the load calls posts as the web app's server does; notify's WebSocket needs no page
        ...(faults.some((f) => f.startsWith('udp-loss')) ? { front: { posts: front } } : {}),
      },
    );
  } finally {
    await proxy?.close();
  }
}

async function drillOn(
  stack: Stack,
  faults: FaultName[],
  plan: FaultPlan,
  progress: Progress,
  proxy: UdpProxy | undefined,
): Promise<FaultsTransport> {
  const caller = createTransport(chirpTransportConfig(stack.clientEnv));
  let followers: LiveFollowers | undefined;
  try {
    const api = { auth: client(caller, auth), follows: client(caller, follows), posts: client(caller, posts) };
    const { authors, tokens } = await signUp(api, plan);
    followers = await LiveFollowers.open(stack.notifyUrl, tokens);
    const load = new CreateLoad(api.posts, authors, {
      rate: plan.rate,
      attemptTimeoutMs: plan.attemptTimeoutMs,
      retryBudgetMs: plan.retryBudgetMs,
      maxOutstanding: plan.rate * 30,
    });
    const subject: FaultSubject = { stack, amqpPrefix: stack.clientEnv.AMQP_PREFIX!, ...(proxy ? { proxy } : {}) };
    load.start();
    await untilRateIsBack(load, performance.now(), 0, plan.warmupMs, plan.rate);
    const clocks: [FaultName, EpisodeClock, string[]][] = [];
    for (const fault of faults) {
      const resentBefore = udpRetransmissions(caller);
      const [clock, details] = await episode(fault, subject, load, plan);
      const resent = udpRetransmissions(caller) - resentBefore;
      if (caller.kindOf('posts') === 'udp')
        details.push(`${rate(resent)} request datagrams resent by the load generator's UDP client`);
      clocks.push([fault, clock, details]);
      stack.assertAlive();
    }
    await load.stop();
    await sleep(plan.graceMs);
    const verdict = await verifyWrites(api.posts, authors, load.writes);
    const episodes = clocks.map(([fault, clock, details]) => {
      const figures = episodeFigures(stack.transport, fault, clock, details, load, verdict, followers!);
      progress.line(`faults ${stack.transport.padEnd(5)} ${fault.padEnd(13)} ${describe(figures)}`);
      return figures;
    });
    return { transport: stack.transport, episodes, socketDisconnects: followers.disconnects };
  } finally {
    followers?.close();
    await caller.close().catch(() => {});
  }
}

function episodeFigures(
  transport: StackTransport,
  fault: FaultName,
  clock: EpisodeClock,
  details: string[],
  load: CreateLoad,
  verdict: Verdict,
  followers: LiveFollowers,
): FaultEpisode {
  const inEpisode = load.writes.filter((w) => w.firstSentAt >= clock.startedAt && w.firstSentAt < clock.endedAt);
  const notifications = { expected: 0, received: 0, lost: 0, duplicates: 0 };
  for (const w of inEpisode) {
    if (w.postId === undefined) continue;
    const delivery = followers.settle(w.postId);
    notifications.expected += followers.size;
    notifications.received += delivery.received;
    notifications.duplicates += delivery.duplicates;
  }
  notifications.lost = notifications.expected - notifications.received;
  return {
    fault,
    transport,
    faultAtMs: clock.faultAt - clock.startedAt,
    healedAtMs: clock.healedAt - clock.startedAt,
    durationMs: clock.endedAt - clock.startedAt,
    details,
    ...loadFigures(clock, load.attempts, load.writes),
    lost: inEpisode.filter((w) => verdict.lost.has(w.key)).length,
    duplicates: inEpisode.reduce((sum, w) => sum + (verdict.duplicates.get(w.key) ?? 0), 0),
    storedWithoutAck: inEpisode.filter((w) => verdict.storedWithoutAck.has(w.key)).length,
    notifications,
  };
}

/**
 * The load generator's UDP retransmissions so far (a call that is answered after lost datagrams
 * is one call to the caller, however many times the transport resent it); 0 on other transports.
 */
function udpRetransmissions(caller: RoutedTransport): number {
  const stats = (caller.for('posts') as { stats?: { retransmissions?: unknown } }).stats;
  return typeof stats?.retransmissions === 'number' ? stats.retransmissions : 0;
}

async function episode(
  fault: FaultName,
  subject: FaultSubject,
  load: CreateLoad,
  plan: FaultPlan,
): Promise<[EpisodeClock, string[]]> {
  await sleep(plan.beforeMs);
  const called = performance.now();
  const injected = await FAULTS[fault].inject(subject);
  const faultAt = injected.at ?? called;
  const details = [injected.detail];
  let healedAt = faultAt;
  if (injected.heal !== undefined) {
    await sleep(faultAt + plan.lossMs - performance.now());
    healedAt = performance.now();
    details.push(injected.heal());
  }
  await untilRateIsBack(load, healedAt, plan.minAfterMs, plan.maxAfterMs, plan.rate);
  await sleep(plan.tailMs);
  // Counted from `beforeMs` ahead of the fault, so every episode's fault sits at the same point on the chart.
  return [{ startedAt: faultAt - plan.beforeMs, faultAt, healedAt, endedAt: performance.now() }, details];
}

/** Wait, from `since`, at least `minMs` and then until the last second's acknowledgements reach 80% of `rate`; at most `maxMs`. */
async function untilRateIsBack(
  load: CreateLoad,
  since: number,
  minMs: number,
  maxMs: number,
  rate: number,
): Promise<void> {
  for (;;) {
    const now = performance.now();
    const acked = load.writes.filter((w) => w.ackedAt !== undefined && w.ackedAt >= now - 1_000).length;
    if (now - since >= maxMs || (now - since >= minMs && acked >= rate * 0.8)) return;
    await sleep(250);
  }
}

async function signUp(
  api: { auth: Client<typeof auth>; follows: Client<typeof follows> },
  plan: FaultPlan,
): Promise<{ authors: Author[]; tokens: { token: string }[] }> {
  const authors = await inBatches(plan.authors, async (i) => {
    const { user } = await api.auth.signUp({ username: `author_${i}`, password: PASSWORD });
    return { id: user.id, username: user.username };
  });
  const tokens = await inBatches(plan.followers, async (i) => {
    const { user } = await api.auth.signUp({ username: `fan_${i}`, password: PASSWORD });
    for (const author of authors) await api.follows.follow({ followerId: user.id, followeeId: author.id });
    const { token } = await api.auth.logIn({ username: user.username, password: PASSWORD });
    return { token };
  });
  return { authors, tokens };
}

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let i = 0; i < count; i += SETUP_AT_ONCE) {
    const batch = Array.from({ length: Math.min(SETUP_AT_ONCE, count - i) }, (_, j) => make(i + j));
    made.push(...(await Promise.all(batch)));
  }
  return made;
}

function describe(e: FaultEpisode): string {
  const recovered =
    e.firstSuccessAfterMs === null
      ? 'no success after'
      : `first success ${(e.firstSuccessAfterMs / 1000).toFixed(2)} s`;
  return (
    `${e.calls} calls, ${e.errors} errors, ${e.acknowledged}/${e.writes} acked, lost ${e.lost}, dup ${e.duplicates}, ` +
    `notifications lost ${e.notifications.lost}/${e.notifications.expected}, ${recovered}`
  );
}
