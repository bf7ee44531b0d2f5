/**
 * Nothing acknowledged is lost. The posts service runs as its own process on a real
 * PostgreSQL database while a writer creates posts at concurrency 16, each with its own
 * idempotency key, retried with the same key (post-writer.ts); meanwhile the test SIGKILLs
 * the process at random moments and restarts it, and on AMQP also has the broker drop this
 * test's connections (on NATS a proxy in front of the server cuts them). Afterwards every post the service acknowledged is on its author's
 * timeline exactly once, no key made two posts, failed calls failed with a TransportError
 * saying why, and no call outlived its deadline. posts.create needs nothing but its database
 * (it publishes post.created, which nobody here subscribes to), so the process is the whole
 * stack. Needs the services built (`npm run build`).
 */
import { randomBytes } from 'node:crypto';
import { chirpTransportConfig, client, posts, type Post } from '@chirp/contracts';
import { testDatabase } from '@chirp/db/testing';
import { createTransport, TransportError, TRANSPORT_KINDS } from '@chirp/transport';
import {
  AMQP_TEST_URL,
  NATS_TEST_URL,
  TcpProxy,
  closeBrokerConnections,
  deleteByPrefix,
  freePort,
  sleep,
} from '@chirp/transport/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { writePosts, type WriteOutcome } from './post-writer.js';
import { ServiceProcess } from './processes.js';

const POSTS = 1_500;
const CONCURRENCY = 16;
const KILLS = 4;
const ATTEMPT_TIMEOUT_MS = 4_000;
const MAX_ATTEMPTS = 12;
/** What a call may take beyond its deadline before it counts as hung: timers on a loaded machine. */
const HANG_MARGIN_MS = 2_000;

const figures: Record<string, unknown>[] = [];
afterAll(() => console.info(`faults.test.ts figures:\n${figures.map((f) => JSON.stringify(f)).join('\n')}`));

describe.each(TRANSPORT_KINDS)('posts.create over %s, killed mid-run', (kind) => {
  it('keeps every acknowledged post exactly once, and fails the rest clearly and in time', async () => {
    const run = `test-${randomBytes(4).toString('hex')}`;
    const database = testDatabase('postgres', 'posts');
    const port = await freePort();
    // NATS through a proxy, so that the test can cut every connection to the server, as AMQP's are cut at the broker.
    const natsProxy = kind === 'nats' ? await TcpProxy.start({ target: new URL(NATS_TEST_URL).host }) : undefined;
    const env = {
      TRANSPORT: kind,
      POSTS_ADDR: `127.0.0.1:${port}`,
      POSTS_LISTEN: `127.0.0.1:${port}`,
      AMQP_URL: AMQP_TEST_URL,
      AMQP_PREFIX: run,
      NATS_URL: natsProxy === undefined ? NATS_TEST_URL : `nats://${natsProxy.address}`,
      NATS_PREFIX: run,
      POSTS_DATABASE_URL: database.config.url!,
      ADMIN_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    const service = new ServiceProcess({
      name: `posts over ${kind}`,
      command: ['node', 'services/posts/dist/main.js'],
      env,
      ready: { adminPort: Number(env.ADMIN_PORT) },
    });
    const caller = createTransport(chirpTransportConfig(env));
    const postsClient = client(caller, posts);
    try {
      await service.start();
      const faults = { kills: 0, connectionDrops: 0 };
      let acknowledged = 0;
      // Fault f comes at a random moment of stretch f; no write may start more than half a stretch
      // past the next fault's, so a fast transport (AMQP's broker holds requests while posts
      // restarts) cannot finish the run while a slow fault (rabbitmqctl) is still being made.
      const stretch = POSTS / (KILLS + 1);
      let writerDone = false;
      const pace = async (index: number) => {
        while (faults.kills < KILLS && index >= (faults.kills + 1.5) * stretch && !writerDone) await sleep(10);
      };
      const writing = writePosts(postsClient, {
        pace,
        count: POSTS,
        concurrency: CONCURRENCY,
        timeoutMs: ATTEMPT_TIMEOUT_MS,
        maxAttempts: MAX_ATTEMPTS,
        run,
        onAcknowledged: (n) => (acknowledged = n),
      });
      void writing.finally(() => (writerDone = true));

      // Faults spread over the run by progress (the machine's speed varies), at a random moment within each stretch.
      for (let fault = 1; fault <= KILLS && !writerDone; fault++) {
        const at = stretch * (fault - 0.5 + Math.random() * 0.5);
        while (acknowledged < at && !writerDone) await sleep(10);
        if (kind === 'amqp' && fault === 2) {
          faults.connectionDrops += await closeBrokerConnections(run, 'faults.test.ts: simulated connection loss');
          await sleep(Math.random() * 200);
        }
        if (natsProxy !== undefined && fault === 2) {
          faults.connectionDrops += natsProxy.liveConnections;
          natsProxy.resetAll();
          await sleep(Math.random() * 200);
        }
        await service.kill('SIGKILL');
        faults.kills++;
        await sleep(Math.random() * 300);
        await service.start();
      }
      const outcomes = await writing;

      const stored = await readBack(postsClient, outcomes);
      const report = judge(outcomes, stored);
      figures.push({ transport: kind, ...report.figures, ...faults });

      expect(faults.kills).toBeGreaterThanOrEqual(3);
      if (kind === 'amqp' || kind === 'nats') expect(faults.connectionDrops).toBeGreaterThanOrEqual(2); // the writer's and the service's
      expect(report.lost, 'acknowledged but not stored').toEqual([]);
      expect(report.duplicates, 'stored more than once').toEqual([]);
      expect(report.hung, 'attempts that outlived their deadline').toEqual([]);
      expect(report.unclear, 'failures without a retryable TransportError code').toEqual([]);
      // Retrying with the same key rides out every restart: a failure is the rare exception.
      expect(report.figures.acknowledged).toBeGreaterThanOrEqual(POSTS * 0.98);
      expect(service.running, service.log).toBe(true);
    } finally {
      await caller.close();
      await service.stop();
      await database.drop();
      if (kind === 'amqp') await deleteByPrefix(run);
      await natsProxy?.close();
    }
  }, 120_000);
});

/** Every author's whole timeline, as a user would page through it. */
async function readBack(
  postsClient: ReturnType<typeof client<typeof posts>>,
  outcomes: WriteOutcome[],
): Promise<Post[]> {
  const stored: Post[] = [];
  for (const authorId of new Set(outcomes.map((o) => o.authorId))) {
    let cursor: string | undefined;
    do {
      const page = await postsClient.userTimeline({ userId: authorId, limit: 100, ...(cursor && { cursor }) });
      stored.push(...page.posts);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
  return stored;
}

function judge(outcomes: WriteOutcome[], stored: Post[]) {
  const byText = new Map<string, Post[]>();
  for (const post of stored) byText.set(post.text, [...(byText.get(post.text) ?? []), post]);
  const succeeded = outcomes.filter((o) => o.postId !== undefined);
  const failed = outcomes.filter((o) => o.postId === undefined);
  const failuresByCode: Record<string, number> = {};
  for (const o of failed) {
    const code = o.error instanceof TransportError ? o.error.code : String(o.error);
    failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
  }
  const lost = succeeded.filter((o) => !byText.get(o.text)?.some((post) => post.id === o.postId)).map((o) => o.key);
  const duplicates = [...byText.values()].filter((copies) => copies.length > 1).map((copies) => copies[0]!.text);
  const hung = outcomes
    .filter((o) => o.longestAttemptMs > ATTEMPT_TIMEOUT_MS + HANG_MARGIN_MS)
    .map((o) => `${o.key}: ${o.longestAttemptMs} ms`);
  const unclear = failed
    .filter((o) => !(o.error instanceof TransportError && ['UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(o.error.code)))
    .map((o) => String(o.error));
  return {
    lost,
    duplicates,
    hung,
    unclear,
    figures: {
      attempted: outcomes.length,
      acknowledged: succeeded.length,
      retriedCalls: outcomes.filter((o) => o.attempts > 1).length,
      lost: lost.length,
      duplicates: duplicates.length,
      hangs: hung.length,
      failuresByCode,
      slowestAttemptMs: Math.max(...outcomes.map((o) => o.longestAttemptMs)),
    },
  };
}
