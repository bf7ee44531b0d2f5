/**
 * notify on every transport, as a browser sees it: real WebSocket clients (ws) connect to
 * the real server, posts are published as post.created events, auth and follows are small
 * in-test stand-ins served on the same transport (the follows stand-in pages two followers
 * at a time, so the paging is exercised too).
 */
import { performance } from 'node:perf_hooks';
import { createHash, randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { auth, follows, handlersFor, posts, publish, type Implementation, type User } from '@chirp/contracts';
import { TRANSPORT_KINDS, TransportError, newTraceId, type RoutedTransport } from '@chirp/transport';
import { TestWorld, eventually, sleep } from '@chirp/transport/testing';
import { upstream } from '@chirp/transport/testing/spans';
import { startTestService } from '@chirp/service-runtime/testing';
import type { RunningService } from '@chirp/service-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyConfigFromEnv, type NotifyConfig } from './config.js';
import { startNotify } from './start.js';

const createdAt = '2026-11-23T10:00:00.000Z';
const users: Record<string, User> = {
  a: { id: 'a', username: 'alice', createdAt },
  b: { id: 'b', username: 'bob', createdAt },
  c: { id: 'c', username: 'carol', createdAt },
};
/** The stand-in auth's sessions; a test revokes one by deleting it. */
const sessions = new Map<string, User>([
  ['tok-a', users.a!],
  ['tok-b', users.b!],
  ['tok-c', users.c!],
]);
/** b is followed by two users with no socket and then by a (so a is on the second page). */
const followersOf: Record<string, string[]> = { b: ['u1', 'u2', 'a'] };
const STAND_IN_PAGE = 2;

const HEARTBEAT_MS = 300;
const REVERIFY_MS = 300;
/**
 * The shared instance's heartbeat is too slow to matter, so a tab it drops was dropped for
 * something else (a stalled tab cannot answer pings either); heartbeats get their own instance.
 */
const config: NotifyConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  allowedOrigins: ['http://localhost:3000'],
  heartbeatMs: 60_000,
  reverifyMs: REVERIFY_MS,
  maxBufferedBytes: 256 * 1024,
  maxSocketsPerUser: 20,
};

interface Frame {
  type: string;
  user?: User;
  post?: { id: string; authorId: string; text: string };
  postId?: string;
  traceId?: string;
}

/** One browser tab: its socket, every frame it got, and how it ended. */
interface Tab {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  posts(): string[];
}

describe.each(TRANSPORT_KINDS)('notify over %s', (kind) => {
  let world: TestWorld;
  let publisher: RoutedTransport;
  /** The stand-in auth's transport, which publishes session.revoked. */
  let authPublisher: RoutedTransport;
  let notify: RunningService;
  let address = '';
  const followerCalls: Array<{ userId: string; limit?: number; traceId: string }> = [];
  const tabs: Tab[] = [];

  async function open(query: string, options: ClientOptions = {}, at = address): Promise<Tab> {
    const ws = new WebSocket(`ws://${at}/ws${query}`, options);
    const frames: Frame[] = [];
    const tab: Tab = {
      ws,
      frames,
      closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
      posts: () => frames.filter((f) => f.type === 'post').map((f) => f.post!.id),
    };
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
    ws.on('error', () => undefined);
    tabs.push(tab);
    await eventually(() => expect(frames[0]?.type).toBe('hello'));
    return tab;
  }

  /** The HTTP status an upgrade is refused with (it fails the test if a socket opens). */
  function refusal(path: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${address}${path}`, { headers });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error(`a socket opened for ${path}`)));
      ws.on('error', reject);
    });
  }

  async function publishPost(authorId: string, text = 'hello'): Promise<{ id: string; traceId: string }> {
    const id = randomUUID();
    const traceId = newTraceId();
    const author = users[authorId]!;
    const post = { id, authorId, authorUsername: author.username, text, createdAt };
    await publish(publisher, posts, 'post.created', { post, traceId }, { parent: upstream(traceId) });
    return { id, traceId };
  }

  async function publishDeletion(authorId: string, postId: string): Promise<string> {
    const traceId = newTraceId();
    await publish(publisher, posts, 'post.deleted', { postId, authorId, traceId }, { parent: upstream(traceId) });
    return traceId;
  }

  beforeAll(async () => {
    world = new TestWorld(kind);
    authPublisher = world.transport();
    await world.serve(
      'auth',
      handlersFor(auth, {
        verify: ({ token }) => {
          const user = sessions.get(token);
          if (user === undefined) throw new TransportError('UNAUTHENTICATED', 'no such session');
          return { user };
        },
      } as Partial<Implementation<typeof auth>> as Implementation<typeof auth>),
      authPublisher,
    );
    await world.serve(
      'follows',
      handlersFor(follows, {
        followers: ({ userId, cursor, limit }, context) => {
          followerCalls.push({ userId, limit, traceId: context.traceId });
          const from = Number(cursor ?? 0);
          const all = followersOf[userId] ?? [];
          const next = from + STAND_IN_PAGE;
          return { userIds: all.slice(from, next), ...(next < all.length ? { nextCursor: String(next) } : {}) };
        },
      } as Partial<Implementation<typeof follows>> as Implementation<typeof follows>),
    );
    publisher = world.transport();
    await world.serve('posts', {}, publisher);
    notify = await startTestService(
      world,
      'notify',
      startNotify(config, (bound) => (address = bound)),
    );

    // HTTP and UDP subscriptions register asynchronously: publish until one arrives.
    const warmUp = await open('?token=tok-a');
    await eventually(
      async () => {
        const { id } = await publishPost('b', 'warm-up');
        await eventually(() => expect(warmUp.posts()).toContain(id), 300);
      },
      10_000,
      0,
    );
    await eventually(
      async () => {
        await publishDeletion('b', 'warm-up');
        await eventually(() => expect(warmUp.frames.map((f) => f.type)).toContain('post.deleted'), 300);
      },
      10_000,
      0,
    );
    warmUp.ws.close();
  });

  afterAll(async () => {
    for (const tab of tabs) tab.ws.terminate();
    await notify?.stop();
    await world?.close();
  });

  it("pushes a post to every tab of the author's followers and of the author, with its trace id", async () => {
    const byCookie = await open('', { headers: { cookie: 'theme=dark; chirp_session=tok-a' } });
    const byQuery = await open('?token=tok-a');
    const author = await open('?token=tok-b');
    expect(byCookie.frames[0]).toEqual({ type: 'hello', user: users.a });
    expect(author.frames[0]).toEqual({ type: 'hello', user: users.b });

    followerCalls.length = 0;
    const { id, traceId } = await publishPost('b', 'hi followers');
    for (const tab of [byCookie, byQuery, author]) {
      await eventually(() => expect(tab.posts()).toContain(id));
      expect(tab.frames.find((f) => f.post?.id === id)).toEqual({
        type: 'post',
        post: { id, authorId: 'b', authorUsername: 'bob', text: 'hi followers', createdAt },
        traceId,
      });
    }
    // Every page of followers was asked for under the post's trace id.
    expect(followerCalls).toEqual([
      { userId: 'b', limit: 1000, traceId },
      { userId: 'b', limit: 1000, traceId },
    ]);
  });

  it("tells the author's followers and the author that a post is gone, and nobody else", async () => {
    const follower = await open('?token=tok-a');
    const author = await open('?token=tok-b');
    const stranger = await open('?token=tok-c');
    const { id } = await publishPost('b', 'soon gone');
    await eventually(() => expect(follower.posts()).toContain(id));
    const traceId = await publishDeletion('b', id);
    for (const tab of [follower, author]) {
      await eventually(() => expect(tab.frames).toContainEqual({ type: 'post.deleted', postId: id, traceId }));
    }
    await sleep(50);
    expect(stranger.frames.filter((f) => f.type === 'post.deleted')).toEqual([]);
  });

  it('pushes a post published twice (posts re-publishing from its outbox) once', async () => {
    const follower = await open('?token=tok-a');
    const post = { id: randomUUID(), authorId: 'b', authorUsername: users.b!.username, text: 'once', createdAt };
    const traceId = newTraceId();
    await publish(publisher, posts, 'post.created', { post, traceId }, { parent: upstream(traceId) });
    await publish(publisher, posts, 'post.created', { post, traceId }, { parent: upstream(traceId) });
    const { id: later } = await publishPost('b', 'after the copy');
    await eventually(() => expect(follower.posts()).toContain(later));
    expect(follower.posts().filter((id) => id === post.id)).toEqual([post.id]);
  });

  it('does not push a post to someone who does not follow its author', async () => {
    const follower = await open('?token=tok-a');
    const stranger = await open('?token=tok-c');
    const { id } = await publishPost('b');
    await eventually(() => expect(follower.posts()).toContain(id));
    await sleep(50);
    expect(stranger.posts()).toEqual([]);
  });

  it('refuses an upgrade without a valid session with 401, and a foreign page with 403', async () => {
    expect(await refusal('/ws')).toBe(401);
    expect(await refusal('/ws?token=not-a-session')).toBe(401);
    expect(await refusal('/ws', { cookie: 'chirp_session=not-a-session' })).toBe(401);
    expect(await refusal('/ws?token=tok-a', { origin: 'https://evil.example' })).toBe(403);
    expect(await refusal('/elsewhere?token=tok-a')).toBe(404);
    const allowed = await open('?token=tok-a', { origin: 'http://localhost:3000' });
    expect(allowed.frames[0]?.user).toEqual(users.a);
  });

  it('answers a ping, and closes a socket that sends more than 4 KiB with 1009 while serving the others', async () => {
    const other = await open('?token=tok-a');
    const chatty = await open('?token=tok-a');
    chatty.ws.send(JSON.stringify({ type: 'ping' }));
    await eventually(() => expect(chatty.frames.map((f) => f.type)).toContain('pong'));

    chatty.ws.send(JSON.stringify({ type: 'ping', padding: 'x'.repeat(5000) }));
    expect((await chatty.closed).code).toBe(1009);
    const { id } = await publishPost('b');
    await eventually(() => expect(other.posts()).toContain(id));
  });

  it('drops a tab that does not answer heartbeats and keeps those that do', async () => {
    let at = '';
    const quick = await startTestService(
      world,
      'notify',
      startNotify({ ...config, heartbeatMs: HEARTBEAT_MS }, (bound) => (at = bound)),
    );
    try {
      const healthy = await open('?token=tok-a', {}, at);
      const dead = await open('?token=tok-a', { autoPong: false }, at);
      const started = Date.now();
      expect((await dead.closed).code).toBe(1006);
      expect(Date.now() - started).toBeLessThan(3 * HEARTBEAT_MS + 500);
      await sleep(2 * HEARTBEAT_MS);
      expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      await quick.stop();
    }
  });

  it('refuses a socket over the per-user cap with 429 and Retry-After, leaving the open ones alone', async () => {
    let at = '';
    const capped = await startTestService(
      world,
      'notify',
      startNotify({ ...config, maxSocketsPerUser: 3 }, (bound) => (at = bound)),
    );
    const opened: WebSocket[] = [];
    /** An upgrade's status and Retry-After, or 101 once a socket opened. */
    const attempt = (token: string) =>
      new Promise<{ status: number; retryAfter?: string; body?: string }>((resolve, reject) => {
        const ws = new WebSocket(`ws://${at}/ws?token=${token}`);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
        });
        ws.on('open', () => resolve({ status: 101 }));
        ws.on('error', reject);
        opened.push(ws);
      });
    try {
      const mine = [
        await open('?token=tok-c', {}, at),
        await open('', { headers: { cookie: 'chirp_session=tok-c' } }, at),
        await open('?token=tok-c', {}, at),
      ];
      // One token could open a thousand before; now the fourth, and five more at once, are refused.
      const over = await Promise.all(Array.from({ length: 6 }, () => attempt('tok-c')));
      expect(over.map((r) => r.status)).toEqual(Array(6).fill(429));
      expect(over[0]!.retryAfter).toBe(String(Math.ceil((2 * config.heartbeatMs) / 1000)));
      expect(over[0]!.body).toBe('too many open sockets for this user (at most 3): close a tab, or try again later\n');
      for (const tab of mine) expect(tab.ws.readyState).toBe(WebSocket.OPEN);
      // Someone else is not affected; once a tab closes, a new one may open.
      expect((await attempt('tok-a')).status).toBe(101);
      mine[0]!.ws.close();
      await mine[0]!.closed;
      await eventually(async () => expect((await attempt('tok-c')).status).toBe(101));
    } finally {
      for (const ws of opened) ws.terminate();
      await capped.stop();
    }
  });

  it('closes a tab with 4001 once its session has ended', async () => {
    sessions.set('tok-a-revocable', users.a!);
    const tab = await open('?token=tok-a-revocable');
    const other = await open('?token=tok-a');
    const revokedAt = Date.now();
    sessions.delete('tok-a-revocable');
    expect(await tab.closed).toEqual({ code: 4001, reason: 'session ended' });
    expect(Date.now() - revokedAt).toBeLessThan(REVERIFY_MS + 1_000);
    await sleep(REVERIFY_MS * 2);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("closes a logged-out session's tabs with 4001 when auth publishes session.revoked", async () => {
    // Still valid at the stand-in auth, so re-verification keeps it open: only the event can close it.
    sessions.set('tok-a-logged-out', users.a!);
    const tab = await open('?token=tok-a-logged-out');
    const other = await open('?token=tok-a');
    const event = { sessionId: createHash('sha256').update('chirp session id\0tok-a-logged-out').digest('hex') };
    // HTTP and UDP register the subscription asynchronously: publish until one arrives.
    await eventually(
      async () => {
        await publish(authPublisher, auth, 'session.revoked', event);
        await eventually(() => expect(tab.ws.readyState).not.toBe(WebSocket.OPEN), 300);
      },
      10_000,
      0,
    );
    expect(await tab.closed).toEqual({ code: 4001, reason: 'session ended' });
    await sleep(REVERIFY_MS * 2);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('keeps delivering promptly to a tab while another one stops reading, and drops the stalled one', async () => {
    const healthy = await open('?token=tok-a');
    const stalled = await open('?token=tok-a');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();

    // Large posts (UDP carries one event per datagram, so under its 64 KiB), a window at a time.
    const text = 'x'.repeat(40_000);
    const windows = 25;
    const perWindow = 10;
    const latencies: number[] = [];
    for (let w = 0; w < windows; w++) {
      const started = performance.now();
      const sent = await Promise.all(Array.from({ length: perWindow }, () => publishPost('b', text)));
      await eventually(() => expect(healthy.posts()).toEqual(expect.arrayContaining(sent.map((p) => p.id))), 3_000, 2);
      latencies.push(performance.now() - started);
    }
    latencies.sort((x, y) => x - y);
    expect(latencies.at(-1)).toBeLessThan(1_500);

    // The stalled tab was cut off: once it reads again it finds its connection gone, short of every post.
    (stalled.ws as unknown as { _socket: Socket })._socket.resume();
    expect((await stalled.closed).code).toBe(1006);
    expect(stalled.posts().length).toBeLessThan(windows * perWindow);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes every tab with 1001 when it stops', async () => {
    const tab = await open('?token=tok-a');
    await notify.stop();
    expect(await tab.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

describe('notify config', () => {
  it('has documented defaults, and names the variable of a bad value', () => {
    expect(notifyConfigFromEnv({})).toEqual({
      listen: { host: '0.0.0.0', port: 4104 },
      allowedOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
      heartbeatMs: 15_000,
      reverifyMs: 30_000,
      maxBufferedBytes: 1024 * 1024,
      maxSocketsPerUser: 20,
    });
    expect(notifyConfigFromEnv({ NOTIFY_MAX_SOCKETS_PER_USER: '2' }).maxSocketsPerUser).toBe(2);
    expect(notifyConfigFromEnv({ NOTIFY_ALLOWED_ORIGINS: '*', NOTIFY_LISTEN: '127.0.0.1:0' })).toMatchObject({
      listen: { host: '127.0.0.1', port: 0 },
      allowedOrigins: undefined,
    });
    expect(() => notifyConfigFromEnv({ NOTIFY_LISTEN: '4104' })).toThrow(/NOTIFY_LISTEN=4104 is not host:port/);
    expect(() => notifyConfigFromEnv({ NOTIFY_HEARTBEAT_MS: '0' })).toThrow(/NOTIFY_HEARTBEAT_MS=0 must be a positive/);
  });
});
