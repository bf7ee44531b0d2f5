/**
 * The story the whole project is about, on every transport: two people sign up, one
 * follows the other, the other posts — and the post reaches the follower's home timeline,
 * their open WebSocket, and search, with one trace across every hop: the post's spans, in
 * every service, each a child of the one before.
 */
import { telemetry, type SpanRecord } from '@chirp/telemetry';
import { TRANSPORT_KINDS, newTraceId } from '@chirp/transport';
import { eventually } from '@chirp/transport/testing';
import { upstream } from '@chirp/transport/testing/spans';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, type Stack } from './stack.js';

describe.each([...TRANSPORT_KINDS, 'mixed'] as const)('the Chirp scenario over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ transport, database: 'postgres' });
  }, 60_000);
  afterAll(() => stack?.stop());

  it('sign up, follow, post: the follower sees it in the timeline, live, and in search', async () => {
    const { auth, follows, posts } = stack;
    const a = (await auth.signUp({ username: 'alice', password: 'correct horse' })).user;
    const b = (await auth.signUp({ username: 'Bob_42', password: 'battery staple' })).user;
    expect(b.username).toBe('bob_42');
    const aliceSession = await auth.logIn({ username: 'alice', password: 'correct horse' });
    expect((await auth.verify({ token: aliceSession.token })).user.id).toBe(a.id);

    const live = await openLive(stack.notifyUrl, aliceSession.token);
    await expect(live.next()).resolves.toMatchObject({ type: 'hello', user: { id: a.id } });

    await follows.follow({ followerId: a.id, followeeId: b.id });
    expect(await follows.counts({ userId: b.id })).toEqual({ followers: 1, following: 0 });

    const traceId = newTraceId();
    const text = 'Transports compared: raccoons prefer datagrams';
    const { post } = await posts.create(
      { authorId: b.id, authorUsername: b.username, text },
      { parent: upstream(traceId) },
    );

    const home = await posts.homeTimeline({ userId: a.id });
    expect(home.posts[0]).toEqual(post);

    const pushed = await live.nextOf('post');
    expect(pushed).toEqual({ type: 'post', post, traceId });

    const found = await posts.search({ query: 'raccoon datagram' });
    expect(found.posts.map((p) => p.id)).toEqual([post.id]);
    expect((await auth.findUsers({ prefix: 'BO' })).users.map((u) => u.username)).toEqual(['bob_42']);
    live.close();

    // One trace from the post to Alice's socket, every hop a child of the one before.
    const spans = await eventually(() => {
      const kept = telemetry()!.spans.spansOf([traceId]);
      expect(kept.map((span) => span.name)).toContain('push post');
      return kept;
    });
    const path = (name: string) =>
      ancestry(
        spans,
        spans.find((span) => nameOf(span) === name)!,
      );
    expect(path('push post')).toEqual([
      'push post',
      'process post.created',
      'publish post.created',
      'posts/create server',
      'posts/create client',
    ]);
    expect(path('follows/followers server')).toEqual([
      'follows/followers server',
      'follows/followers client',
      ...path('process post.created'),
    ]);
    expect(path('INSERT posts client')).toEqual(['INSERT posts client', 'posts/create server', 'posts/create client']);
    expect(path('SELECT follows client')).toEqual(['SELECT follows client', ...path('follows/followers server')]);
    const eventsKind = transport === 'mixed' ? 'udp' : transport;
    expect(spans.find((span) => span.name === 'process post.created')?.attributes['chirp.transport']).toBe(eventsKind);
  });

  it('hangs the queries a handler makes after its own calls, Prisma operations too, under its span', async () => {
    const { auth, follows, posts } = stack;
    const [c, d] = await Promise.all(
      ['carol', 'dave'].map(async (username) => (await auth.signUp({ username, password: 'long enough' })).user),
    );
    const traceId = newTraceId();
    // follow: a call to auth (are both users real?), then an insert through Prisma.
    await follows.follow({ followerId: c!.id, followeeId: d!.id }, { parent: upstream(traceId) });
    // a home timeline: a call to follows (whom carol follows), then the timeline's SELECT.
    await posts.homeTimeline({ userId: c!.id }, { parent: upstream(traceId) });
    const spans = await eventually(() => {
      const kept = telemetry()!.spans.spansOf([traceId]);
      expect(kept.map(nameOf)).toEqual(expect.arrayContaining(['INSERT follows client', 'SELECT posts client']));
      return kept;
    });
    const parentOf = (name: string) => nameOf(spans.find((span) => span.spanId === named(spans, name).parentId)!);
    expect(parentOf('auth/getUsers client')).toBe('follows/follow server');
    expect(parentOf('INSERT follows client')).toBe('follows/follow server');
    expect(parentOf('follows/following client')).toBe('posts/homeTimeline server');
    expect(parentOf('SELECT posts client')).toBe('posts/homeTimeline server');
  });
});

function named(spans: SpanRecord[], name: string): SpanRecord {
  const span = spans.find((s) => nameOf(s) === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map(nameOf).join(', ')}`);
  return span;
}

/** The names of a span and its ancestors, nearest first. */
function ancestry(spans: SpanRecord[], span: SpanRecord): string[] {
  const names: string[] = [];
  for (let at: SpanRecord | undefined = span; at !== undefined; at = spans.find((s) => s.spanId === at!.parentId)) {
    names.push(nameOf(at));
  }
  return names;
}

/** A span's name, with its side for calls and queries: `posts/create client`, `INSERT posts client`. */
function nameOf(span: SpanRecord): string {
  return span.kind === 'client' || span.kind === 'server' ? `${span.name} ${span.kind}` : span.name;
}

/** A browser-like live connection: messages queue up until the test asks for them. */
async function openLive(url: string, token: string) {
  const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, { origin: 'http://localhost:3000' });
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as unknown;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const next = (timeoutMs = 5_000) =>
    new Promise<unknown>((resolve, reject) => {
      if (queue.length > 0) return resolve(queue.shift());
      const timer = setTimeout(() => reject(new Error('no WebSocket message in time')), timeoutMs);
      waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  return {
    next,
    /** The next message of a type, skipping others (e.g. the hello). */
    async nextOf(type: string): Promise<unknown> {
      for (;;) {
        const message = (await next()) as { type?: string };
        if (message.type === type) return message;
      }
    },
    close: () => socket.close(),
  };
}
