/**
 * No event lost when the publisher dies. posts runs as its own process (from dist, so the test
 * can SIGKILL it) on a real PostgreSQL; auth, follows and notify run in this process (stack.ts),
 * and one follower of every writing author holds a real WebSocket to notify. A writer creates
 * posts at concurrency 8 (post-writer.ts) while the test SIGKILLs posts mid-burst and restarts
 * it. Then, for every acknowledged post: did the follower get its notification, and only once?
 *
 * post.created is written to posts' outbox in the post's own statement, and published from it
 * after commit or, after a crash, at the next start; notify drops copies by post id. Asserted:
 * none pushed twice anywhere, and 0 lost on amqp and nats, whose brokers keep the subscription.
 * On http, tcp and udp events reach notify through its registration with posts (point to point),
 * which a restarted posts knows only once notify renews it; a starting posts holds its events
 * back for one renewal period (start.ts), and the loss there, usually 0, is reported: a renewal
 * that misses the hold on a loaded machine loses a few.
 * Needs the services built (`npx turbo run build --filter=@chirp/posts --filter=@chirp/notify`).
 */
import { randomBytes } from 'node:crypto';
import { testDatabase } from '@chirp/db/testing';
import { TRANSPORTS, TRANSPORT_KINDS } from '@chirp/transport';
import { eventually, freePort, sleep } from '@chirp/transport/testing';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { writePosts } from './post-writer.js';
import { ServiceProcess } from './processes.js';
import { startStack } from './stack.js';

const POSTS = 400;
const CONCURRENCY = 8;
const KILLS = 2;
/** How long notifications may trail the last acknowledged post (a restart, a backoff). */
const SETTLE_MS = 15_000;

const figures: Record<string, unknown>[] = [];
afterAll(() => console.info(`outbox.test.ts figures:\n${figures.map((f) => JSON.stringify(f)).join('\n')}`));

describe.each(TRANSPORT_KINDS)('post.created over %s, posts killed mid-burst', (kind) => {
  it('notifies the follower of every acknowledged post, once', async () => {
    const run = `outbox-${randomBytes(4).toString('hex')}`;
    const stack = await startStack({ transport: kind, database: 'postgres', without: ['posts'] });
    const database = testDatabase('postgres', 'posts');
    const base = stack.env();
    const postsAddr = base.POSTS_ADDR ?? `127.0.0.1:${await freePort()}`;
    const adminPort = await freePort();
    const service = new ServiceProcess({
      name: `posts over ${kind}`,
      command: ['node', 'services/posts/dist/main.js'],
      env: {
        ...base,
        POSTS_ADDR: postsAddr,
        POSTS_LISTEN: postsAddr,
        POSTS_DATABASE_URL: database.config.url!,
        ADMIN_PORT: String(adminPort),
        LOG_LEVEL: 'warn',
      },
      ready: { adminPort },
    });
    let socket: WebSocket | undefined;
    try {
      await service.start();
      const follower = (await stack.auth.signUp({ username: `f${run.slice(-8)}`, password: 'correct horse' })).user;
      const authors: string[] = [];
      for (let lane = 0; lane < CONCURRENCY; lane++) {
        const author = (await stack.auth.signUp({ username: `a${lane}${run.slice(-8)}`, password: 'battery staple' }))
          .user;
        await stack.follows.follow({ followerId: follower.id, followeeId: author.id });
        authors.push(author.id);
      }
      const { token } = await stack.auth.logIn({ username: `f${run.slice(-8)}`, password: 'correct horse' });
      const pushed = new Map<string, number>();
      socket = await openSocket(stack.notifyUrl, token, (frame) => {
        if (frame.type === 'post' && frame.post?.id) pushed.set(frame.post.id, (pushed.get(frame.post.id) ?? 0) + 1);
      });
      // notify started before posts and subscribes with a backoff (up to 10 s): wait until it is
      // subscribed, as a first post pushed shows, so that the burst measures the kills alone.
      await eventually(
        async () => {
          const probe = await stack.posts.create({ authorId: authors[0]!, authorUsername: 'probe', text: 'probe' });
          await sleep(200);
          expect(pushed.has(probe.post.id)).toBe(true);
        },
        30_000,
        300,
      );
      pushed.clear();

      let acknowledged = 0;
      let kills = 0;
      const writing = writePosts(stack.posts, {
        count: POSTS,
        concurrency: CONCURRENCY,
        timeoutMs: 4_000,
        maxAttempts: 12,
        run,
        authorOf: (lane) => authors[lane]!,
        onAcknowledged: (n) => (acknowledged = n),
      });
      let writerDone = false;
      void writing.finally(() => (writerDone = true));
      for (let kill = 1; kill <= KILLS && !writerDone; kill++) {
        const at = (POSTS / (KILLS + 1)) * kill;
        while (acknowledged < at && !writerDone) await sleep(5);
        await service.kill('SIGKILL');
        kills++;
        await sleep(Math.random() * 300);
        await service.start();
      }
      const outcomes = await writing;
      const acked = outcomes.flatMap((o) => (o.postId === undefined ? [] : [o.postId]));
      const deadline = Date.now() + SETTLE_MS;
      while (Date.now() < deadline && acked.some((id) => !pushed.has(id))) await sleep(100);
      await sleep(500); // a copy, if any, comes soon after its first delivery

      const lost = acked.filter((id) => !pushed.has(id));
      const twice = [...pushed].filter(([, n]) => n > 1).map(([id]) => id);
      figures.push({
        transport: kind,
        kills,
        acknowledged: acked.length,
        notified: acked.length - lost.length,
        lost: lost.length,
        duplicates: twice.length,
      });

      expect(kills).toBe(KILLS);
      expect(twice, 'notifications pushed more than once').toEqual([]);
      if (TRANSPORTS[kind].brokered) expect(lost, 'acknowledged posts whose follower was never notified').toEqual([]);
    } finally {
      socket?.terminate();
      await service.stop();
      await stack.stop();
      await database.drop();
    }
  }, 120_000);
});

interface Frame {
  type: string;
  post?: { id: string };
}

function openSocket(url: string, token: string, onFrame: (frame: Frame) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, { origin: 'http://localhost:3000' });
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'hello') resolve(socket);
      onFrame(frame);
    });
    socket.on('error', reject);
  });
}
