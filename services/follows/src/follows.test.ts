/**
 * The follows service on every transport × both databases, started as a real service
 * (runService) on a real database. Auth is a small stand-in that knows a fixed set of
 * users (the real one lives in services/auth): follows only asks it whether users exist.
 * Each case checks what a user would notice — the answer, the error code and sentence —
 * and that a refused call stored nothing.
 */
import { auth, client, follows, handlersFor, type Implementation } from '@chirp/contracts';
import { DATABASE_KINDS, testDatabase, type TestDatabase } from '@chirp/db/testing';
import type { RunningService } from '@chirp/service-runtime';
import { startTestService } from '@chirp/service-runtime/testing';
import { TRANSPORT_KINDS } from '@chirp/transport';
import { TestWorld, failure } from '@chirp/transport/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFollows } from './start.js';

const cases = TRANSPORT_KINDS.flatMap((kind) => DATABASE_KINDS.map((dbKind) => [kind, dbKind] as const));

/** A stand-in auth whose getUsers knows exactly the ids in `users` (which a test may grow). */
function standInAuth(users: Set<string>): Implementation<typeof auth> {
  const implementation: Partial<Implementation<typeof auth>> = {
    getUsers: ({ ids }) => ({
      users: ids
        .filter((id) => users.has(id))
        .map((id) => ({ id, username: `user_${id}`, createdAt: '2026-11-01T00:00:00.000Z' })),
    }),
  };
  return implementation as Implementation<typeof auth>;
}

const range = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);

describe.each(cases)('follows over %s on %s', (kind, dbKind) => {
  let world: TestWorld;
  let db: TestDatabase;
  let service: RunningService;
  let api: ReturnType<typeof client<typeof follows>>;
  const users = new Set([
    ...['alice', 'bob', 'carol', 'dave', 'erin', 'star', 'fan', 'x', 'y', 'pop1', 'pop2'],
    ...range('f', 25),
    ...range('g', 30),
  ]);

  beforeAll(async () => {
    world = new TestWorld(kind);
    db = testDatabase(dbKind, 'follows');
    await world.serve('auth', handlersFor(auth, standInAuth(users)));
    service = await startTestService(world, 'follows', startFollows({ database: db.config, userCacheSize: 1000 }));
    api = client(world.transport(), follows);
  });
  afterAll(async () => {
    await service?.stop();
    await world?.close();
    await db?.drop();
  });

  it('follows: isFollowing turns true one way only, and both sides count it', async () => {
    expect(await api.isFollowing({ followerId: 'alice', followeeId: 'bob' })).toEqual({ following: false });
    expect(await api.follow({ followerId: 'alice', followeeId: 'bob' })).toEqual({ following: true });
    expect(await api.isFollowing({ followerId: 'alice', followeeId: 'bob' })).toEqual({ following: true });
    expect(await api.isFollowing({ followerId: 'bob', followeeId: 'alice' })).toEqual({ following: false });
    expect(await api.counts({ userId: 'alice' })).toEqual({ followers: 0, following: 1 });
    expect(await api.counts({ userId: 'bob' })).toEqual({ followers: 1, following: 0 });
    expect(await api.followers({ userId: 'bob' })).toEqual({ userIds: ['alice'] });
    expect(await api.following({ userId: 'alice' })).toEqual({ userIds: ['bob'] });
  });

  it('following twice keeps one follow', async () => {
    expect(await api.follow({ followerId: 'carol', followeeId: 'dave', idempotencyKey: 'key-12345' })).toEqual({
      following: true,
    });
    expect(await api.follow({ followerId: 'carol', followeeId: 'dave', idempotencyKey: 'key-12345' })).toEqual({
      following: true,
    });
    expect(await api.follow({ followerId: 'carol', followeeId: 'dave' })).toEqual({ following: true });
    expect(await api.counts({ userId: 'carol' })).toEqual({ followers: 0, following: 1 });
    expect(await api.counts({ userId: 'dave' })).toEqual({ followers: 1, following: 0 });
    expect(await api.followers({ userId: 'dave' })).toEqual({ userIds: ['carol'] });
  });

  it('unfollows, twice without complaint, and unfollowing a stranger is fine', async () => {
    await api.follow({ followerId: 'erin', followeeId: 'carol' });
    expect(await api.unfollow({ followerId: 'erin', followeeId: 'carol' })).toEqual({ following: false });
    expect(await api.unfollow({ followerId: 'erin', followeeId: 'carol' })).toEqual({ following: false });
    expect(await api.unfollow({ followerId: 'erin', followeeId: 'nobody-at-all' })).toEqual({ following: false });
    expect(await api.isFollowing({ followerId: 'erin', followeeId: 'carol' })).toEqual({ following: false });
    expect(await api.counts({ userId: 'erin' })).toEqual({ followers: 0, following: 0 });
    expect(await api.followers({ userId: 'carol' })).toEqual({ userIds: [] });
  });

  it('refuses following yourself with INVALID_ARGUMENT, storing nothing', async () => {
    const err = await failure(api.follow({ followerId: 'erin', followeeId: 'erin' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('you cannot follow yourself');
    expect(await api.isFollowing({ followerId: 'erin', followeeId: 'erin' })).toEqual({ following: false });
    expect(await api.counts({ userId: 'erin' })).toEqual({ followers: 0, following: 0 });
  });

  it('refuses an unknown followee or follower with NOT_FOUND naming them, storing nothing', async () => {
    const followee = await failure(api.follow({ followerId: 'erin', followeeId: 'ghost' }));
    expect(followee.code).toBe('NOT_FOUND');
    expect(followee.message).toBe('no user ghost');
    const follower = await failure(api.follow({ followerId: 'phantom', followeeId: 'erin' }));
    expect(follower.code).toBe('NOT_FOUND');
    expect(follower.message).toBe('no user phantom');
    expect(await api.counts({ userId: 'erin' })).toEqual({ followers: 0, following: 0 });
    expect(await api.counts({ userId: 'ghost' })).toEqual({ followers: 0, following: 0 });
    expect(await api.counts({ userId: 'phantom' })).toEqual({ followers: 0, following: 0 });
  });

  it('lets a user who signs up after a NOT_FOUND be followed at once (no is never remembered)', async () => {
    expect((await failure(api.follow({ followerId: 'erin', followeeId: 'newcomer' }))).code).toBe('NOT_FOUND');
    users.add('newcomer');
    expect(await api.follow({ followerId: 'erin', followeeId: 'newcomer' })).toEqual({ following: true });
    expect(await api.followers({ userId: 'newcomer' })).toEqual({ userIds: ['erin'] });
  });

  it('pages 25 followers newest first, 10 at a time, with no duplicates even when someone follows meanwhile', async () => {
    const fans = range('f', 25);
    for (const fan of fans) await api.follow({ followerId: fan, followeeId: 'star' });
    const newestFirst = [...fans].reverse();

    const first = await api.followers({ userId: 'star', limit: 10 });
    expect(first.userIds).toEqual(newestFirst.slice(0, 10));
    expect(first.nextCursor).toEqual(expect.any(String));

    await api.follow({ followerId: 'alice', followeeId: 'star' }); // newer than every page: not repeated below
    const second = await api.followers({ userId: 'star', limit: 10, cursor: first.nextCursor });
    expect(second.userIds).toEqual(newestFirst.slice(10, 20));
    const third = await api.followers({ userId: 'star', limit: 10, cursor: second.nextCursor });
    expect(third).toEqual({ userIds: newestFirst.slice(20) });

    const defaultPage = await api.followers({ userId: 'star' });
    expect(defaultPage.userIds).toEqual(['alice', ...newestFirst.slice(0, 19)]);
    expect(defaultPage.nextCursor).toEqual(expect.any(String));
    const all = await api.followers({ userId: 'star', limit: 1000 });
    expect(all).toEqual({ userIds: ['alice', ...newestFirst] });
    expect(await api.counts({ userId: 'star' })).toEqual({ followers: 26, following: 0 });
  });

  it('suggests the most followed first, leaving out the viewer and whom they follow; says which of a list one follows', async () => {
    const crowd = range('g', 30);
    for (const fan of crowd) await api.follow({ followerId: fan, followeeId: 'pop1' });
    for (const fan of crowd.slice(0, 27)) await api.follow({ followerId: fan, followeeId: 'pop2' });
    const [first, last] = [crowd[0]!, crowd[29]!];

    expect((await api.mostFollowed({ limit: 2 })).users).toEqual([
      { userId: 'pop1', followers: 30 },
      { userId: 'pop2', followers: 27 },
    ]);
    expect((await api.mostFollowed({ viewerId: 'pop1', limit: 1 })).users).toEqual([{ userId: 'pop2', followers: 27 }]);
    // The last of the crowd follows pop1, not pop2: pop2 is the best suggestion left for them.
    expect((await api.mostFollowed({ viewerId: last, limit: 1 })).users).toEqual([{ userId: 'pop2', followers: 27 }]);
    // The first follows both, and is never suggested to themself.
    const forFirst = (await api.mostFollowed({ viewerId: first, limit: 50 })).users.map((u) => u.userId);
    expect(forFirst.filter((id) => ['pop1', 'pop2', first].includes(id))).toEqual([]);

    expect(await api.followingAmong({ followerId: first, userIds: ['pop2', 'x', 'pop1', 'nobody'] })).toEqual({
      userIds: ['pop2', 'pop1'],
    });
    expect(await api.followingAmong({ followerId: first, userIds: [] })).toEqual({ userIds: [] });
  });

  it('pages whom someone follows newest first', async () => {
    const idols = range('f', 25);
    for (const idol of idols) await api.follow({ followerId: 'fan', followeeId: idol });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.following({ userId: 'fan', limit: 10, ...(cursor ? { cursor } : {}) });
      expect(page.userIds.length).toBeLessThanOrEqual(10);
      seen.push(...page.userIds);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual([...idols].reverse());
    expect(await api.counts({ userId: 'fan' })).toEqual({ followers: 0, following: 25 });
  });

  it.each(['not-a-cursor', '!!!', Buffer.from('["yesterday","f01"]').toString('base64url')])(
    'refuses the cursor %j with INVALID_ARGUMENT',
    async (cursor) => {
      for (const list of [api.followers, api.following]) {
        const err = await failure(list({ userId: 'star', cursor }));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toMatch(/^bad cursor/);
      }
    },
  );

  it('stores one follow when 50 identical follows arrive at once', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => api.follow({ followerId: 'x', followeeId: 'y' })),
    );
    expect(replies).toEqual(Array.from({ length: 50 }, () => ({ following: true })));
    expect(await api.counts({ userId: 'y' })).toEqual({ followers: 1, following: 0 });
    expect(await api.followers({ userId: 'y' })).toEqual({ userIds: ['x'] });
  });

  it.each([
    ['follow', { followerId: '', followeeId: 'bob' }, /followerId/],
    ['follow', { followerId: 'alice' }, /followeeId/],
    ['follow', { followerId: 'alice', followeeId: 'carol', extra: 1 }, /extra|additional/i],
    ['follow', { followerId: 'alice', followeeId: 42 }, /followeeId/],
    ['followers', { userId: 'star', limit: 0 }, /limit/],
    ['following', { userId: 'star', limit: 1001 }, /limit/],
    ['counts', 'alice', /object/i],
  ])('refuses a malformed %s request %j with INVALID_ARGUMENT naming the field', async (method, request, message) => {
    const raw = api as unknown as Record<string, (request: unknown) => Promise<unknown>>;
    const err = await failure(raw[method]!(request));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(await api.isFollowing({ followerId: 'alice', followeeId: 'carol' })).toEqual({ following: false });
    expect(await api.counts({ userId: 'carol' })).toEqual({ followers: 0, following: 1 });
  });
});

// Auth down: a world of its own where nothing serves auth. Each transport once, on
// PostgreSQL: the check fails before the database is touched, so the database kind changes
// nothing here, while a second in-memory PGlite per case would cost seconds of CPU.
describe.each(TRANSPORT_KINDS)('follows over %s while auth is unreachable', (kind) => {
  let world: TestWorld;
  let db: TestDatabase;
  let service: RunningService;
  let api: ReturnType<typeof client<typeof follows>>;

  beforeAll(async () => {
    world = new TestWorld(kind, { defaultTimeoutMs: 2_000 });
    db = testDatabase('postgres', 'follows');
    await world.unreachable('auth');
    service = await startTestService(world, 'follows', startFollows({ database: db.config, userCacheSize: 1000 }));
    api = client(world.transport(), follows);
  });
  afterAll(async () => {
    await service?.stop();
    await world?.close();
    await db?.drop();
  });

  it('fails a follow promptly with UNAVAILABLE saying why, storing nothing', async () => {
    const err = await failure(api.follow({ followerId: 'alice', followeeId: 'bob' }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/^cannot check that the users exist: auth failed with UNAVAILABLE \(.+\)$/);
    expect(await api.isFollowing({ followerId: 'alice', followeeId: 'bob' })).toEqual({ following: false });
    expect(await api.counts({ userId: 'bob' })).toEqual({ followers: 0, following: 0 });
  });

  it('still reads and unfollows, which need no auth', async () => {
    expect(await api.unfollow({ followerId: 'alice', followeeId: 'bob' })).toEqual({ following: false });
    expect(await api.followers({ userId: 'bob' })).toEqual({ userIds: [] });
  });
});
