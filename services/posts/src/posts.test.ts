/**
 * The posts service on every transport × both databases, started as a real service
 * (runService) on a real database, with the REAL follows service behind home timelines
 * (on PostgreSQL whatever posts runs on; follows only asks auth whether users exist: auth
 * is a small stand-in that says yes to everyone). Each case checks what a user would notice — the answer, the error code and
 * sentence — and that a refused create stored nothing. post.created events are watched
 * through a subscription made once per world and warmed up before any count is asserted.
 */
import {
  auth,
  client,
  follows,
  handlersFor,
  posts,
  subscribe,
  type EventOf,
  type Implementation,
  type Post,
} from '@chirp/contracts';
import { DATABASE_KINDS, testDatabase, type TestDatabase } from '@chirp/db/testing';
import { startFollows } from '@chirp/follows';
import type { RunningService } from '@chirp/service-runtime';
import { startTestService } from '@chirp/service-runtime/testing';
import { TRANSPORT_KINDS, newTraceId, type EventContext } from '@chirp/transport';
import { TestWorld, failure, eventually, sleep } from '@chirp/transport/testing';
import { upstream } from '@chirp/transport/testing/spans';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPosts } from './start.js';
import { FEW_AUTHORS } from './timeline.js';

const cases = TRANSPORT_KINDS.flatMap((kind) => DATABASE_KINDS.map((dbKind) => [kind, dbKind] as const));

/** Auth as follows needs it: every id is a user. */
const everyoneExists: Partial<Implementation<typeof auth>> = {
  getUsers: ({ ids }) => ({
    users: ids.map((id) => ({ id, username: id, createdAt: '2026-11-01T00:00:00.000Z' })),
  }),
};

type Seen = { event: EventOf<typeof posts, 'post.created'>; context: EventContext };
type Deleted = { event: EventOf<typeof posts, 'post.deleted'>; context: EventContext };

describe.each(cases)('posts over %s on %s', (kind, dbKind) => {
  let world: TestWorld;
  let postsDb: TestDatabase;
  let followsDb: TestDatabase;
  const services: RunningService[] = [];
  let api: ReturnType<typeof client<typeof posts>>;
  let graph: ReturnType<typeof client<typeof follows>>;
  const seen: Seen[] = [];
  const deleted: Deleted[] = [];
  const eventsFor = (postId: string): Seen[] => seen.filter((s) => s.event.post.id === postId);

  /** Post as `author` (username = id), returning the stored post. */
  const post = async (author: string, text: string): Promise<Post> =>
    (await api.create({ authorId: author, authorUsername: author, text })).post;

  beforeAll(async () => {
    world = new TestWorld(kind);
    postsDb = testDatabase(dbKind, 'posts');
    // Follows' own database kind is not what this suite tests: PostgreSQL, the quicker to open.
    followsDb = testDatabase('postgres', 'follows');
    await world.serve('auth', handlersFor(auth, everyoneExists as Implementation<typeof auth>));
    services.push(
      await startTestService(world, 'follows', startFollows({ database: followsDb.config, userCacheSize: 1000 })),
    );
    services.push(
      await startTestService(world, 'posts', startPosts({ database: postsDb.config, homeMaxFollowees: 5000 })),
    );
    api = client(world.transport(), posts);
    graph = client(world.transport(), follows);
    await subscribe(world.transport(), posts, 'post.created', (event, context) => void seen.push({ event, context }));
    await subscribe(
      world.transport(),
      posts,
      'post.deleted',
      (event, context) => void deleted.push({ event, context }),
    );
    // HTTP and UDP subscriptions register asynchronously: post until one event arrives.
    await eventually(
      async () => {
        await post('warmup', 'warming up');
        await sleep(50);
        expect(seen.length).toBeGreaterThan(0);
      },
      10_000,
      0,
    );
  });
  afterAll(async () => {
    for (const service of services.reverse()) await service.stop();
    await world?.close();
    await postsDb?.drop();
    await followsDb?.drop();
  });

  it('creates a post and gets it back by id', async () => {
    const before = Date.now();
    const created = await post('alice', 'hello, world');
    expect(created).toEqual({
      id: expect.any(String),
      authorId: 'alice',
      authorUsername: 'alice',
      text: 'hello, world',
      createdAt: expect.any(String),
    });
    expect(Date.parse(created.createdAt)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(created.createdAt)).toBeLessThanOrEqual(Date.now() + 5);
    expect(await api.get({ id: created.id })).toEqual({ post: created });
  });

  it('trims the text before storing it', async () => {
    const created = await post('trimmer', '  \n spaced out \t ');
    expect(created.text).toBe('spaced out');
    expect((await api.get({ id: created.id })).post.text).toBe('spaced out');
  });

  it('accepts exactly 141 characters counted as code points, emoji included', async () => {
    const birds = '🐦'.repeat(141); // 282 UTF-16 units, 141 characters
    expect((await post('birder', birds)).text).toBe(birds);
    const padded = await post('birder', `   ${'a'.repeat(140)}😀   `);
    expect([...padded.text].length).toBe(141);
  });

  it('refuses 142 characters with a sentence saying how many, storing nothing', async () => {
    const before = await api.userTimeline({ userId: 'verbose' });
    for (const text of ['x'.repeat(142), '🐦'.repeat(142), ` ${'y'.repeat(142)} `]) {
      const err = await failure(api.create({ authorId: 'verbose', authorUsername: 'verbose', text }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe('a post is at most 141 characters; this one has 142');
    }
    const err = await failure(api.create({ authorId: 'verbose', authorUsername: 'verbose', text: 'z'.repeat(300) }));
    expect(err.message).toBe('a post is at most 141 characters; this one has 300');
    expect(await api.userTimeline({ userId: 'verbose' })).toEqual(before);
    expect(before).toEqual({ posts: [] });
  });

  it('refuses an empty, whitespace-only or invisible-only post, storing nothing', async () => {
    for (const text of ['', '   ', ' \n\t\u00a0 ', '\u200b', '\u202e', ' \u200d\u2060\u3164 ']) {
      const err = await failure(api.create({ authorId: 'silent', authorUsername: 'silent', text }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe('a post needs some text');
    }
    expect(await api.userTimeline({ userId: 'silent' })).toEqual({ posts: [] });
  });

  it('answers NOT_FOUND for an unknown post', async () => {
    const err = await failure(api.get({ id: 'no-such-post' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('no post no-such-post');
  });

  it("pages a user's 25 posts newest first, with no duplicates or gaps, and only theirs", async () => {
    const created: Post[] = [];
    for (let i = 0; i < 25; i++) {
      created.push(await post('pager', `post number ${i}`));
      if (i === 12) await post('bystander', 'not on the pager timeline');
    }
    const newestFirst = created.map((p) => p.id).reverse();

    const first = await api.userTimeline({ userId: 'pager' });
    expect(first.posts.map((p) => p.id)).toEqual(newestFirst.slice(0, 20)); // the default page size
    expect(first.nextCursor).toEqual(expect.any(String));

    const seenIds: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api.userTimeline({ userId: 'pager', limit: 10, ...(cursor && { cursor }) });
      expect(page.posts.every((p) => p.authorId === 'pager')).toBe(true);
      seenIds.push(...page.posts.map((p) => p.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seenIds).toEqual(newestFirst);
    expect((await api.userTimeline({ userId: 'pager', limit: 25 })).nextCursor).toBeUndefined();
  });

  it('pages a timeline back to the oldest and forward again to the newest, the same pages both ways', async () => {
    const created: Post[] = [];
    for (let i = 0; i < 12; i++) created.push(await post('twoway', `both ways ${i}`));
    const newestFirst = created.map((p) => p.id).reverse();
    const ids = (page: { posts: Post[] }) => page.posts.map((p) => p.id);

    const first = await api.userTimeline({ userId: 'twoway', limit: 5 });
    expect(first.newerCursor).toBeUndefined(); // the newest page has nothing newer
    const second = await api.userTimeline({ userId: 'twoway', limit: 5, cursor: first.nextCursor! });
    const third = await api.userTimeline({ userId: 'twoway', limit: 5, cursor: second.nextCursor! });
    expect(ids(third)).toEqual(newestFirst.slice(10));
    expect(third.nextCursor).toBeUndefined();

    const back = await api.userTimeline({ userId: 'twoway', limit: 5, newerThan: third.newerCursor! });
    expect(ids(back)).toEqual(newestFirst.slice(5, 10));
    expect(back.nextCursor).toEqual(expect.any(String));
    const newest = await api.userTimeline({ userId: 'twoway', limit: 5, newerThan: back.newerCursor! });
    expect(ids(newest)).toEqual(newestFirst.slice(0, 5));
    expect(newest.newerCursor).toBeUndefined(); // back at the top
    // A post made meanwhile: paging forward now finds a page more.
    const later = await post('twoway', 'after the fact');
    const again = await api.userTimeline({ userId: 'twoway', limit: 5, newerThan: second.newerCursor! });
    expect(ids(again)).toEqual(newestFirst.slice(0, 5));
    const top = await api.userTimeline({ userId: 'twoway', limit: 5, newerThan: again.newerCursor! });
    expect(ids(top)).toEqual([later.id]);
    expect(top.newerCursor).toBeUndefined();

    const both = failure(
      api.userTimeline({ userId: 'twoway', cursor: first.nextCursor!, newerThan: back.newerCursor! }),
    );
    expect((await both).code).toBe('INVALID_ARGUMENT');
  });

  it('shows on a home timeline your own posts and those of whom you follow, not strangers', async () => {
    await graph.follow({ followerId: 'reader', followeeId: 'writer1' });
    await graph.follow({ followerId: 'reader', followeeId: 'writer2' });
    const expected: Post[] = [];
    expected.push(await post('writer1', 'first from writer one'));
    await post('stranger', 'nobody reader follows');
    expected.push(await post('reader', 'my own words'));
    expected.push(await post('writer2', 'writer two speaks'));
    await post('writer2-fan', 'also a stranger');
    expected.push(await post('writer1', 'writer one again'));
    const newestFirst = expected.map((p) => p.id).reverse();

    expect((await api.homeTimeline({ userId: 'reader' })).posts.map((p) => p.id)).toEqual(newestFirst);
    const first = await api.homeTimeline({ userId: 'reader', limit: 3 });
    expect(first.posts.map((p) => p.id)).toEqual(newestFirst.slice(0, 3));
    const second = await api.homeTimeline({ userId: 'reader', limit: 3, cursor: first.nextCursor! });
    expect(second.posts.map((p) => p.id)).toEqual(newestFirst.slice(3));
    expect(second.nextCursor).toBeUndefined();

    // Someone who follows nobody sees only their own posts; unfollowing takes posts away.
    expect((await api.homeTimeline({ userId: 'stranger' })).posts.map((p) => p.text)).toEqual([
      'nobody reader follows',
    ]);
    await graph.unfollow({ followerId: 'reader', followeeId: 'writer1' });
    expect((await api.homeTimeline({ userId: 'reader' })).posts.map((p) => p.authorId)).toEqual(['writer2', 'reader']);
  });

  it.each([
    ['a few', 3],
    ['many', FEW_AUTHORS + 4],
  ])('pages a home timeline of %s followees back and forth, the same pages both ways', async (_, count) => {
    const reader = `pager${count}`;
    const writers = Array.from({ length: count }, (_, i) => `${reader}-writer${i}`);
    for (const writer of writers) await graph.follow({ followerId: reader, followeeId: writer });
    // Most posts by one writer: more than a page of theirs, spread between the others'.
    const created: Post[] = [];
    for (let i = 0; i < 12; i++) created.push(await post(writers[i % 3 === 2 ? i % count : 0]!, `page post ${i}`));
    await post(`${reader}-stranger`, 'nobody the pager follows');
    const newestFirst = created.map((p) => p.id).reverse();
    const ids = (page: { posts: Post[] }) => page.posts.map((p) => p.id);

    const first = await api.homeTimeline({ userId: reader, limit: 5 });
    const second = await api.homeTimeline({ userId: reader, limit: 5, cursor: first.nextCursor! });
    const third = await api.homeTimeline({ userId: reader, limit: 5, cursor: second.nextCursor! });
    expect([ids(first), ids(second), ids(third)]).toEqual([
      newestFirst.slice(0, 5),
      newestFirst.slice(5, 10),
      newestFirst.slice(10),
    ]);
    expect(third.nextCursor).toBeUndefined();
    const back = await api.homeTimeline({ userId: reader, limit: 5, newerThan: third.newerCursor! });
    expect(ids(back)).toEqual(newestFirst.slice(5, 10));
    const top = await api.homeTimeline({ userId: reader, limit: 5, newerThan: back.newerCursor! });
    expect(ids(top)).toEqual(newestFirst.slice(0, 5));
    expect(top.newerCursor).toBeUndefined();
  });

  it('searches by a word, case-insensitively, and needs every word of the query', async () => {
    const fox = await post('searcher', 'The quick brown fox jumps over the lazy dog');
    await post('searcher', 'a brown bear sleeps');
    expect((await api.search({ query: 'fox' })).posts).toEqual([fox]);
    expect((await api.search({ query: 'FOX' })).posts).toEqual([fox]);
    expect((await api.search({ query: 'brown fox' })).posts).toEqual([fox]);
    expect((await api.search({ query: 'fox bear' })).posts).toEqual([]);
  });

  it('ranks better matches first, and the newest first among equal matches', async () => {
    const older = await post('ranker', 'owl owl owl, all night long');
    const tieOld = await post('ranker', 'a heron by the lake');
    const once = await post('ranker', 'an owl flew by');
    const tieNew = await post('ranker', 'heron at dawn');
    expect((await api.search({ query: 'owl' })).posts.map((p) => p.id)).toEqual([older.id, once.id]);
    expect((await api.search({ query: 'heron' })).posts.map((p) => p.id)).toEqual([tieNew.id, tieOld.id]);
  });

  it('matches word stems: "running" finds "run"', async () => {
    const run = await post('runner', 'I like to run in the rain');
    expect((await api.search({ query: 'running' })).posts.map((p) => p.id)).toEqual([run.id]);
    expect((await api.search({ query: 'runs' })).posts.map((p) => p.id)).toEqual([run.id]);
  });

  it('returns nothing, without an error, for a query of only stop words or punctuation', async () => {
    await post('stopper', 'the and of it is to be');
    expect(await api.search({ query: 'the and of' })).toEqual({ posts: [] });
    expect(await api.search({ query: '!!! ... ???' })).toEqual({ posts: [] });
  });

  it('pages search results without duplicates', async () => {
    const kestrels: Post[] = [];
    for (let i = 0; i < 5; i++) kestrels.push(await post('kestrel', `kestrel sighting ${i}`));
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.search({ query: 'kestrel', limit: 2, ...(cursor && { cursor }) });
      ids.push(...page.posts.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(ids).toEqual(kestrels.map((p) => p.id).reverse());
  });

  it('publishes post.created with the post and the caller’s trace id', async () => {
    const traceId = newTraceId();
    const { post: created } = await api.create(
      { authorId: 'tracer', authorUsername: 'tracer', text: 'follow my trace' },
      { parent: upstream(traceId) },
    );
    const [delivery] = await eventually(() => {
      const found = eventsFor(created.id);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(delivery!.event).toEqual({ post: created, traceId });
    expect(delivery!.context.traceId).toBe(traceId);
  });

  it('makes a retried create with the same idempotency key one post and one event', async () => {
    const request = {
      authorId: 'retrier',
      authorUsername: 'retrier',
      text: 'once only',
      idempotencyKey: 'retry-key-1',
    };
    const first = (await api.create(request)).post;
    expect((await api.create(request)).post).toEqual(first);
    // Racing retries meet at the unique index: still the first post.
    const raced = await Promise.all(
      Array.from({ length: 5 }, () => api.create({ ...request, idempotencyKey: 'retry-key-2' })),
    );
    expect(new Set(raced.map((r) => r.post.id)).size).toBe(1);
    // The same key by another author is another post.
    const other = (await api.create({ ...request, authorId: 'someone-else', authorUsername: 'someone' })).post;
    expect(other.id).not.toBe(first.id);

    await eventually(() => expect(eventsFor(other.id)).toHaveLength(1));
    await sleep(100); // late duplicates would arrive about now
    expect(eventsFor(first.id)).toHaveLength(1);
    expect(eventsFor(raced[0]!.post.id)).toHaveLength(1);
    expect((await api.userTimeline({ userId: 'retrier' })).posts.map((p) => p.id)).toEqual([
      raced[0]!.post.id,
      first.id,
    ]);
  });

  it('deletes a post for its author only: gone from timelines and search, and post.deleted published', async () => {
    const word = `ephemeral${kind}${dbKind}`;
    const kept = await post('deleter', `${word} stays`);
    const doomed = await post('deleter', `${word} goes`);
    await graph.follow({ followerId: 'deleter-fan', followeeId: 'deleter' });

    // Someone else may not; an unknown post is not found.
    expect((await failure(api.delete({ id: doomed.id, authorId: 'deleter-fan' }))).code).toBe('PERMISSION_DENIED');
    expect((await failure(api.delete({ id: 'no-such-post', authorId: 'deleter' }))).code).toBe('NOT_FOUND');
    expect(await api.get({ id: doomed.id })).toEqual({ post: doomed });
    expect(deleted).toEqual([]);

    const traceId = newTraceId();
    expect(await api.delete({ id: doomed.id, authorId: 'deleter' }, { parent: upstream(traceId) })).toEqual({});
    expect((await failure(api.get({ id: doomed.id }))).code).toBe('NOT_FOUND');
    const ids = (page: { posts: Post[] }) => page.posts.map((p) => p.id);
    expect(ids(await api.userTimeline({ userId: 'deleter' }))).toEqual([kept.id]);
    expect(ids(await api.homeTimeline({ userId: 'deleter-fan' }))).toEqual([kept.id]);
    expect(ids(await api.search({ query: word }))).toEqual([kept.id]);

    const [delivery] = await eventually(() => {
      expect(deleted).toHaveLength(1);
      return deleted;
    });
    expect(delivery!.event).toEqual({ postId: doomed.id, authorId: 'deleter', traceId });
    expect(delivery!.context.traceId).toBe(traceId);
    // Deleted already: not found, and no second event.
    expect((await failure(api.delete({ id: doomed.id, authorId: 'deleter' }))).code).toBe('NOT_FOUND');
    await sleep(100);
    expect(deleted).toHaveLength(1);
  });

  it('names who posted last, each author once, the most recent first', async () => {
    // A few milliseconds apart: posts are ordered by their time, which has millisecond resolution.
    for (const [author, text] of [
      ['quiet', 'an old one'],
      ['chatty', 'first'],
      ['chatty', 'second'],
      ['latest', 'just now'],
    ] as const) {
      await post(author, text);
      await sleep(3);
    }
    const { authors } = await api.recentAuthors({ limit: 3 });
    expect(authors.map((a) => a.userId)).toEqual(['latest', 'chatty', 'quiet']);
    expect(authors[0]).toEqual({ userId: 'latest', username: 'latest', lastPostAt: expect.any(String) });
    expect(Date.parse(authors[0]!.lastPostAt)).toBeGreaterThanOrEqual(Date.parse(authors[1]!.lastPostAt));
  });

  it('refuses a cursor it did not make with INVALID_ARGUMENT', async () => {
    const notOurs = [
      'not-a-cursor',
      '!!!',
      Buffer.from('{"t":"yesterday","i":"x"}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
    ];
    for (const cursor of notOurs) {
      for (const call of [
        () => api.userTimeline({ userId: 'alice', cursor }),
        () => api.homeTimeline({ userId: 'alice', cursor }),
        () => api.search({ query: 'hello', cursor }),
      ]) {
        const err = await failure(call());
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toMatch(/^bad cursor/);
      }
    }
    // A timeline's cursor is not a search cursor.
    const page = await api.userTimeline({ userId: 'pager', limit: 1 });
    const err = await failure(api.search({ query: 'post', cursor: page.nextCursor! }));
    expect(err.message).toMatch(/^bad cursor/);
  });

  it('refuses a malformed request with INVALID_ARGUMENT naming the field, storing nothing', async () => {
    const call = (method: string, request: unknown) => world.transport().request('posts', method, request);
    const missing = await failure(call('create', { authorId: 'malformed', authorUsername: 'malformed' }));
    expect(missing.code).toBe('INVALID_ARGUMENT');
    expect(missing.message).toMatch(/^posts\.create: text/);
    const wrongType = await failure(call('create', { authorId: 'malformed', authorUsername: 'm', text: 42 }));
    expect(wrongType.message).toMatch(/text/);
    const extra = await failure(call('create', { authorId: 'malformed', authorUsername: 'm', text: 'hi', admin: 1 }));
    expect(extra.code).toBe('INVALID_ARGUMENT');
    const limit = await failure(call('userTimeline', { userId: 'malformed', limit: 0 }));
    expect(limit.message).toMatch(/limit/);
    expect((await failure(call('search', { query: '' }))).message).toMatch(/query/);
    expect(await api.userTimeline({ userId: 'malformed' })).toEqual({ posts: [] });
  });
});
