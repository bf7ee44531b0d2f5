/**
 * The auth service on every transport × both databases, started as a real service
 * (runService) on a real database, called through the contract client. Each case checks
 * what a user would notice — the answer, the error code and sentence — and that a refused
 * call stored nothing. bcrypt runs at cost 4 so the suite stays fast.
 */
import { createHash, randomBytes } from 'node:crypto';
import { auth, client, subscribe } from '@chirp/contracts';
import type { DatabaseKind } from '@chirp/db';
import { DATABASE_KINDS, testDatabase } from '@chirp/db/testing';
import { startTestService } from '@chirp/service-runtime/testing';
import { TRANSPORT_KINDS, type TransportError, type TransportKind } from '@chirp/transport';
import { TestWorld, eventually, failure, sleep } from '@chirp/transport/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from './config.js';
import { startAuth, type AuthStarted } from './start.js';

const cases = TRANSPORT_KINDS.flatMap((kind) => DATABASE_KINDS.map((dbKind) => [kind, dbKind] as const));

const HOUR_MS = 3_600_000;
const settings: Omit<AuthConfig, 'database'> = {
  bcryptCost: 4,
  sessionTtlMs: HOUR_MS,
  maxFailedLogins: 5,
  maxFailedLoginsPerAddress: 20,
  maxFailedLoginsPerUsername: 100,
  throttleWindowMs: 300_000,
  maxSignUpsPerAddress: 5,
  signUpWindowMs: 3_600_000,
};
const PASSWORD = 'correct horse';

type AuthClient = ReturnType<typeof client<typeof auth>>;

/** An auth service on its own world and database; `stop()` releases all three. */
async function startAuthWorld(kind: TransportKind, dbKind: DatabaseKind, sessionTtlMs: number) {
  const world = new TestWorld(kind);
  const db = testDatabase(dbKind, 'auth');
  const start = startAuth({ ...settings, sessionTtlMs, database: db.config });
  let started: AuthStarted | undefined;
  const service = await startTestService(world, 'auth', async (runtime) => (started = await start(runtime))).catch(
    async (err: unknown) => {
      await world.close();
      await db.drop();
      throw err;
    },
  );
  return {
    api: client(world.transport(), auth),
    prisma: started!.prisma,
    world,
    stop: async () => {
      await service.stop();
      await world.close();
      await db.drop();
    },
  };
}

describe.each(cases)('auth over %s on %s', (kind, dbKind) => {
  let api: AuthClient;
  let prisma: AuthStarted['prisma'];
  let world: TestWorld;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ api, prisma, world, stop } = await startAuthWorld(kind, dbKind, settings.sessionTtlMs));
  });
  afterAll(() => stop?.());

  const usernamesStartingWith = async (prefix: string) =>
    (await api.findUsers({ prefix, limit: 100 })).users.map((u) => u.username);

  it('signs up, logs in, verifies and logs out', async () => {
    const { user } = await api.signUp({ username: 'Alice_1', password: PASSWORD });
    expect(user).toEqual({ id: expect.any(String), username: 'alice_1', createdAt: expect.any(String) });
    expect(Math.abs(Date.parse(user.createdAt) - Date.now())).toBeLessThan(60_000);

    const before = Date.now();
    const session = await api.logIn({ username: 'ALICE_1', password: PASSWORD });
    expect(session.user).toEqual(user);
    expect(session.token).toMatch(/^[A-Za-z0-9_-]{43,}$/); // ≥ 256 bits, base64url
    expect(Date.parse(session.expiresAt)).toBeGreaterThanOrEqual(before + HOUR_MS - 1000);
    expect(Date.parse(session.expiresAt)).toBeLessThanOrEqual(Date.now() + HOUR_MS);
    expect(await api.verify({ token: session.token })).toEqual({ user });

    expect(await api.logOut({ token: session.token })).toEqual({});
    const err = await failure(api.verify({ token: session.token }));
    expect([err.code, err.message]).toEqual(['UNAUTHENTICATED', 'session expired or logged out']);
    expect(await api.logOut({ token: session.token })).toEqual({}); // idempotent
  });

  it('gives a new token on every log-in; logging out one session leaves the others', async () => {
    await api.signUp({ username: 'twice', password: PASSWORD });
    const first = await api.logIn({ username: 'twice', password: PASSWORD });
    const second = await api.logIn({ username: 'twice', password: PASSWORD });
    expect(first.token).not.toBe(second.token);
    await api.logOut({ token: first.token });
    expect((await api.verify({ token: second.token })).user.username).toBe('twice');
    // a replayed token after log-out stays dead
    expect((await failure(api.verify({ token: first.token }))).code).toBe('UNAUTHENTICATED');
  });

  it('publishes session.revoked on log-out, once per session, naming it by an id that is neither token, hash nor user', async () => {
    const { user } = await api.signUp({ username: 'leaving', password: PASSWORD });
    const revoked: Array<Record<string, unknown>> = [];
    const idOf = (token: string) => createHash('sha256').update('chirp session id\0').update(token).digest('hex');
    const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
    const subscription = await subscribe(world.transport(), auth, 'session.revoked', (event) => {
      revoked.push(event);
    });
    try {
      // HTTP and UDP register the subscription asynchronously: log out until an event arrives.
      await eventually(
        async () => {
          const { token } = await api.logIn({ username: 'leaving', password: PASSWORD });
          await api.logOut({ token });
          await eventually(() => expect(revoked.map((e) => e.sessionId)).toContain(idOf(token)), 300);
        },
        10_000,
        0,
      );
      const { token } = await api.logIn({ username: 'leaving', password: PASSWORD });
      await api.logOut({ token });
      await api.logOut({ token }); // nothing left to revoke: no second event
      const mine = () => revoked.filter((e) => e.sessionId === idOf(token));
      await eventually(() => expect(mine()).toEqual([{ sessionId: idOf(token) }]));
      await sleep(100);
      expect(mine()).toHaveLength(1);
      // Nothing in any event an eavesdropper could use: not the token, the stored hash, nor the user.
      const seen = JSON.stringify(revoked);
      expect(seen).not.toContain(token);
      expect(seen).not.toContain(hashOf(token));
      expect(seen).not.toContain(user.id);
    } finally {
      await subscription.close();
    }
  });

  it('refuses a session once its expiry time has passed', async () => {
    await api.signUp({ username: 'brief', password: PASSWORD });
    const session = await api.logIn({ username: 'brief', password: PASSWORD });
    const tokenHash = createHash('sha256').update(session.token).digest('hex');
    const stored = await prisma.session.findUniqueOrThrow({ where: { tokenHash } });
    expect(stored.expiresAt.toISOString()).toBe(session.expiresAt); // now + the configured lifetime
    expect((await api.verify({ token: session.token })).user.username).toBe('brief');

    // Let the hour pass: the stored expiry becomes a moment ago (the row stays, as until the next sweep).
    await prisma.session.update({ where: { tokenHash }, data: { expiresAt: new Date(Date.now() - 1) } });
    const err = await failure(api.verify({ token: session.token }));
    expect([err.code, err.message]).toEqual(['UNAUTHENTICATED', 'session expired or logged out']);
  });

  it('refuses a random token and a revoked one with the same answer', async () => {
    const random = await failure(api.verify({ token: randomBytes(32).toString('base64url') }));
    expect([random.code, random.message]).toEqual(['UNAUTHENTICATED', 'session expired or logged out']);
    await api.signUp({ username: 'revoked', password: PASSWORD });
    const { token } = await api.logIn({ username: 'revoked', password: PASSWORD });
    await api.logOut({ token });
    const revoked = await failure(api.verify({ token }));
    expect([revoked.code, revoked.message]).toEqual([random.code, random.message]);
    expect(await api.logOut({ token: 'never-issued-token-xyz' })).toEqual({});
  });

  it('refuses a username taken in another case, and stores nothing more', async () => {
    const { user } = await api.signUp({ username: 'bob', password: PASSWORD });
    const err = await failure(api.signUp({ username: 'BoB', password: 'another password' }));
    expect([err.code, err.message]).toEqual(['ALREADY_EXISTS', 'username bob is taken']);
    expect(await usernamesStartingWith('bob')).toEqual(['bob']);
    // the first account keeps its password
    expect((await api.logIn({ username: 'Bob', password: PASSWORD })).user.id).toBe(user.id);
  });

  it.each([
    ['ab', /^auth\.signUp: username: /],
    ['a-b', /^auth\.signUp: username: /],
    ['c'.repeat(21), /^auth\.signUp: username: /],
    ['', /^auth\.signUp: username: /],
  ])('refuses the username %j with INVALID_ARGUMENT and stores nothing', async (username, message) => {
    const before = await prisma.user.count();
    const err = await failure(api.signUp({ username, password: PASSWORD }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(await prisma.user.count()).toBe(before);
  });

  it('still signs up a valid name after refusing bad ones, and lists no junk', async () => {
    for (const username of ['qb', 'q-b', 'q'.repeat(21)]) {
      expect((await failure(api.signUp({ username, password: PASSWORD }))).code).toBe('INVALID_ARGUMENT');
    }
    await api.signUp({ username: 'qbc', password: PASSWORD });
    expect(await usernamesStartingWith('q')).toEqual(['qbc']);
  });

  it('counts password length in UTF-8 bytes: 72 fit, 73 or more are refused, never truncated', async () => {
    const err = await failure(api.signUp({ username: 'accent', password: 'é'.repeat(37) })); // 37 chars, 74 bytes
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('password: at most 72 bytes of UTF-8 (this one is 74); bcrypt would ignore the rest');
    const err73 = await failure(api.signUp({ username: 'accent', password: `${'é'.repeat(36)}x` }));
    expect(err73.message).toMatch(/this one is 73/);
    expect(await usernamesStartingWith('accent')).toEqual([]);

    const exact = 'é'.repeat(36); // 72 bytes
    await api.signUp({ username: 'accent', password: exact });
    expect((await api.logIn({ username: 'accent', password: exact })).user.username).toBe('accent');
    // bcrypt alone would accept this (it reads 72 bytes): the service does not
    const longer = await failure(api.logIn({ username: 'accent', password: `${exact}!` }));
    expect([longer.code, longer.message]).toEqual(['UNAUTHENTICATED', 'wrong username or password']);
  });

  it('answers a wrong password and an unknown username the same way', async () => {
    await api.signUp({ username: 'carol', password: PASSWORD });
    const wrongPassword = await failure(api.logIn({ username: 'carol', password: 'not the password' }));
    const unknownUser = await failure(api.logIn({ username: 'nobody_here', password: PASSWORD }));
    const notAUsername = await failure(api.logIn({ username: 'no such user!', password: PASSWORD }));
    expect([wrongPassword.code, wrongPassword.message]).toEqual(['UNAUTHENTICATED', 'wrong username or password']);
    expect([unknownUser.code, unknownUser.message]).toEqual([wrongPassword.code, wrongPassword.message]);
    expect([notAUsername.code, notAUsername.message]).toEqual([wrongPassword.code, wrongPassword.message]);
  });

  it('throttles a username after 5 failed log-ins, refusing even the right password', async () => {
    await api.signUp({ username: 'dave', password: PASSWORD });
    for (let i = 0; i < 5; i++) {
      expect((await failure(api.logIn({ username: 'dave', password: `guess ${i}` }))).code).toBe('UNAUTHENTICATED');
    }
    const throttled = await failure(api.logIn({ username: 'DAVE', password: 'guess 6' }));
    expect(throttled.code).toBe('RESOURCE_EXHAUSTED');
    expect(throttled.message).toMatch(/^too many failed log-ins for dave; try again in (\d+) s$/);
    const seconds = Number(/in (\d+) s/.exec(throttled.message)![1]);
    expect(seconds).toBeGreaterThan(250);
    expect(seconds).toBeLessThanOrEqual(300);
    expect(throttled.retryAfterS, 'the wait crosses the transport as a number').toBe(seconds);

    const right = await failure(api.logIn({ username: 'dave', password: PASSWORD }));
    expect(right.code).toBe('RESOURCE_EXHAUSTED');
    // other usernames are not affected
    await api.signUp({ username: 'dave2', password: PASSWORD });
    expect((await api.logIn({ username: 'dave2', password: PASSWORD })).user.username).toBe('dave2');
  });

  it("does not let a stranger's failures from one address lock the owner out at another", async () => {
    await api.signUp({ username: 'owner', password: PASSWORD });
    const stranger = '203.0.113.9';
    for (let i = 0; i < 5; i++) {
      const err = await failure(api.logIn({ username: 'owner', password: `guess ${i}`, clientAddress: stranger }));
      expect(err.code).toBe('UNAUTHENTICATED');
    }
    const locked = await failure(api.logIn({ username: 'owner', password: PASSWORD, clientAddress: stranger }));
    expect([locked.code, locked.message]).toEqual([
      'RESOURCE_EXHAUSTED',
      expect.stringMatching(/^too many failed log-ins for owner; try again in \d+ s$/),
    ]);
    expect(locked.retryAfterS).toBeGreaterThan(250);
    // The owner, at home: not locked out, with the right password, by IPv4 and by IPv6.
    const home = await api.logIn({ username: 'Owner', password: PASSWORD, clientAddress: '198.51.100.20' });
    expect(home.user.username).toBe('owner');
    const phone = await api.logIn({ username: 'owner', password: PASSWORD, clientAddress: '2001:db8:5::7' });
    expect(phone.user.username).toBe('owner');
  });

  it('refuses password spraying across 50 usernames from one address with RESOURCE_EXHAUSTED', async () => {
    const sprayer = '192.0.2.50';
    const common = 'Spring2026!';
    await api.signUp({ username: 'sprayed_7', password: common });
    const outcomes: string[] = [];
    let refused: TransportError | undefined;
    for (let i = 0; i < 50; i++) {
      const outcome = await api.logIn({ username: `sprayed_${i}`, password: common, clientAddress: sprayer }).then(
        () => 'OK',
        (err: TransportError) => ((refused = err), err.code),
      );
      outcomes.push(outcome);
    }
    // The 8th guess was right (and so counts nothing against the address); from the 21st failure
    // on, every attempt is refused before any password is checked.
    expect(outcomes.slice(0, 21).filter((o) => o === 'UNAUTHENTICATED')).toHaveLength(20);
    expect(outcomes[7]).toBe('OK');
    expect(outcomes.slice(21)).toEqual(Array(29).fill('RESOURCE_EXHAUSTED'));
    expect(refused?.message).toMatch(/^too many failed log-ins from this address; try again in \d+ s$/);
    expect(refused?.retryAfterS).toBeGreaterThan(250);
    // Even the right password, from there; from elsewhere the account is fine.
    const right = await failure(api.logIn({ username: 'sprayed_7', password: common, clientAddress: sprayer }));
    expect(right.code).toBe('RESOURCE_EXHAUSTED');
    const elsewhere = await api.logIn({ username: 'sprayed_7', password: common, clientAddress: '192.0.2.51' });
    expect(elsewhere.user.username).toBe('sprayed_7');
  });

  it('refuses sign-ups beyond 5 from one address with RESOURCE_EXHAUSTED, storing nothing', async () => {
    const farm = '198.51.100.99';
    const keys = Array.from({ length: 5 }, () => randomBytes(12).toString('hex'));
    for (let i = 0; i < 5; i++) {
      await api.signUp({ username: `farm_${i}`, password: PASSWORD, idempotencyKey: keys[i], clientAddress: farm });
    }
    const refused = await failure(api.signUp({ username: 'farm_5', password: PASSWORD, clientAddress: farm }));
    expect([refused.code, refused.message]).toEqual([
      'RESOURCE_EXHAUSTED',
      expect.stringMatching(/^too many sign-ups from this address; try again in \d+ s$/),
    ]);
    expect(refused.retryAfterS).toBeGreaterThan(3500);
    expect(await usernamesStartingWith('farm_')).toEqual(['farm_0', 'farm_1', 'farm_2', 'farm_3', 'farm_4']);
    // A retry of an earlier sign-up is not another one; other addresses sign up as before.
    const retry = await api.signUp({
      username: 'farm_1',
      password: PASSWORD,
      idempotencyKey: keys[1],
      clientAddress: farm,
    });
    expect(retry.user.username).toBe('farm_1');
    expect(
      (await api.signUp({ username: 'farm_5', password: PASSWORD, clientAddress: '::ffff:198.51.100.98' })).user
        .username,
    ).toBe('farm_5');
  });

  it('throttles concurrent guesses too, and unknown usernames like known ones', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => failure(api.logIn({ username: 'ghost', password: `guess ${i}` }))),
    );
    const codes = guesses.map((e) => e.code).sort();
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(codes.filter((c) => c === 'RESOURCE_EXHAUSTED')).toHaveLength(3);
  });

  it('forgets failures after a successful log-in', async () => {
    await api.signUp({ username: 'erin', password: PASSWORD });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) await failure(api.logIn({ username: 'erin', password: `guess ${i}` }));
      expect((await api.logIn({ username: 'erin', password: PASSWORD })).user.username).toBe('erin');
    }
  });

  it('stores only a SHA-256 of each token, and only a bcrypt hash of each password', async () => {
    const { user } = await api.signUp({ username: 'frank', password: PASSWORD });
    const { token } = await api.logIn({ username: 'frank', password: PASSWORD });
    const sessions = await prisma.$queryRaw<{ row: string }[]>`SELECT s::text AS row FROM sessions s`;
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.some((s) => s.row.includes(token))).toBe(false);
    const hash = createHash('sha256').update(token).digest('hex');
    expect(sessions.filter((s) => s.row.includes(hash))).toHaveLength(1);

    const users = await prisma.$queryRaw<{ row: string }[]>`SELECT u::text AS row FROM users u WHERE id = ${user.id}`;
    expect(users[0]!.row).not.toContain(PASSWORD);
    expect(users[0]!.row).toMatch(/\$2b\$04\$/);
  });

  it('returns the same account for a retried sign-up with the same idempotency key', async () => {
    const idempotencyKey = randomBytes(12).toString('hex');
    const first = await api.signUp({ username: 'Grace', password: PASSWORD, idempotencyKey });
    const retry = await api.signUp({ username: 'grace', password: PASSWORD, idempotencyKey });
    expect(retry.user).toEqual(first.user);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => api.signUp({ username: 'heidi', password: PASSWORD, idempotencyKey: 'key-heidi-1' })),
    );
    expect(new Set(concurrent.map((r) => r.user.id)).size).toBe(1);
    expect(await usernamesStartingWith('grace')).toEqual(['grace']);

    // without the key, or with a new one, it is a second sign-up: taken
    const again = await failure(api.signUp({ username: 'grace', password: PASSWORD, idempotencyKey: 'another-key' }));
    expect([again.code, again.message]).toEqual(['ALREADY_EXISTS', 'username grace is taken']);
    // the key belongs to grace's sign-up: it cannot sign up someone else
    const reused = await failure(api.signUp({ username: 'ivan', password: PASSWORD, idempotencyKey }));
    expect([reused.code, reused.message]).toEqual([
      'INVALID_ARGUMENT',
      'idempotencyKey: already used to sign up grace; use a new key for another sign-up',
    ]);
    expect(await usernamesStartingWith('ivan')).toEqual([]);
  });

  it('gets users by id, in the order asked, leaving unknown ids out', async () => {
    const judy = (await api.signUp({ username: 'judy', password: PASSWORD })).user;
    const ken = (await api.signUp({ username: 'ken', password: PASSWORD })).user;
    expect(await api.getUsers({ ids: [ken.id, 'no-such-id', judy.id, ken.id] })).toEqual({ users: [ken, judy] });
    expect(await api.getUsers({ ids: [] })).toEqual({ users: [] });
  });

  it('keeps a display name and a bio, trimmed, refusing either past its limit in words', async () => {
    const { user } = await api.signUp({ username: 'profiled', password: PASSWORD });
    expect(await api.getProfile({ userId: user.id })).toEqual({ displayName: '', bio: '' });
    expect(
      await api.updateProfile({ userId: user.id, displayName: '  Pro Filed 🐦 ', bio: 'Line one.\nLine two.' }),
    ).toEqual({ displayName: 'Pro Filed 🐦', bio: 'Line one.\nLine two.' });
    expect(await api.getProfile({ userId: user.id })).toEqual({
      displayName: 'Pro Filed 🐦',
      bio: 'Line one.\nLine two.',
    });

    const refusal = async (change: { displayName?: string; bio?: string }) =>
      (await failure(api.updateProfile({ userId: user.id, displayName: '', bio: '', ...change }))).message;
    expect(await refusal({ displayName: '🐦'.repeat(51) })).toBe(
      'a display name is at most 50 characters; this one has 51',
    );
    expect(await refusal({ bio: 'b'.repeat(161) })).toBe('a bio is at most 160 characters; this one has 161');
    expect(await refusal({ displayName: 'two\nlines' })).toBe('a display name is one line');
    expect(await api.getProfile({ userId: user.id })).toEqual({
      displayName: 'Pro Filed 🐦',
      bio: 'Line one.\nLine two.',
    });
    // Exactly at the limits, and empty (or invisible) clears.
    const full = { displayName: '🐦'.repeat(50), bio: 'b'.repeat(160) };
    expect(await api.updateProfile({ userId: user.id, ...full })).toEqual(full);
    expect(await api.updateProfile({ userId: user.id, displayName: '\u200b ', bio: '' })).toEqual({
      displayName: '',
      bio: '',
    });
    expect((await failure(api.getProfile({ userId: 'no-such-user' }))).code).toBe('NOT_FOUND');
    expect((await failure(api.updateProfile({ userId: 'no-such-user', displayName: 'x', bio: '' }))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('finds users by prefix, case-insensitively, alphabetically, 20 by default', async () => {
    const names = Array.from({ length: 22 }, (_, i) => `zed_${String(21 - i).padStart(2, '0')}`);
    for (const username of names) await api.signUp({ username, password: PASSWORD });
    await api.signUp({ username: 'zedd', password: PASSWORD });
    await api.signUp({ username: 'zed9', password: PASSWORD });

    const sorted = [...names].sort();
    expect((await api.findUsers({ prefix: 'ZED_' })).users.map((u) => u.username)).toEqual(sorted.slice(0, 20));
    expect((await api.findUsers({ prefix: 'zed_1', limit: 3 })).users.map((u) => u.username)).toEqual(
      sorted.filter((n) => n.startsWith('zed_1')).slice(0, 3),
    );
    // A page at a time: each next page starts after the last name of the one before.
    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await api.findUsers({ prefix: 'zed_', limit: 10, ...(after ? { after } : {}) });
      pages.push(page.users.map((u) => u.username));
      after = page.next;
    } while (after !== undefined);
    expect(pages).toEqual([sorted.slice(0, 10), sorted.slice(10, 20), sorted.slice(20)]);
    // '_' is a character, not a wildcard; digits sort before '_', '_' before letters
    expect(await usernamesStartingWith('zed')).toEqual(['zed9', ...sorted, 'zedd']);
    expect(await usernamesStartingWith('z%')).toEqual([]);
    expect(await usernamesStartingWith('zz')).toEqual([]);
  });

  it.each([
    ['signUp', { username: 'mallory', password: PASSWORD, admin: true }, /admin|additional/i],
    ['signUp', { username: 42, password: PASSWORD }, /username/],
    ['signUp', { username: 'mallory', password: 'short' }, /password/],
    ['signUp', { username: 'mallory', password: PASSWORD, idempotencyKey: 'short' }, /idempotencyKey/],
    ['logIn', { username: 'mallory' }, /password/],
    ['logIn', { username: 'mallory', password: PASSWORD, clientAddress: 'localhost' }, /clientAddress/],
    ['signUp', { username: 'mallory', password: PASSWORD, clientAddress: '10.0.0.1:443' }, /clientAddress/],
    ['verify', { token: 7 }, /token/],
    ['logOut', {}, /token/],
    ['getUsers', { ids: 'x' }, /ids/],
    ['findUsers', { prefix: 'm', limit: 0 }, /limit/],
    ['findUsers', { prefix: 'm', limit: 'ten' }, /limit/],
  ])('refuses malformed %s %j with INVALID_ARGUMENT and stores nothing', async (method, request, message) => {
    const caller = api as unknown as Record<string, (r: unknown) => Promise<unknown>>;
    const before = await prisma.user.count();
    const err = await failure(caller[method]!(request));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(new RegExp(`^auth\\.${method}: `));
    expect(err.message).toMatch(message);
    expect(await prisma.user.count()).toBe(before);
  });
});
