/**
 * Any string, in any field, on any transport: the whole back end (real services, real
 * PostgreSQL) is sent arbitrary Unicode — NUL, lone surrogates, emoji, controls — in every
 * string field of every contract method, and must never answer INTERNAL. NUL and unpaired
 * surrogates pass a JSON schema but not PostgreSQL; they are refused at the contract boundary as
 * INVALID_ARGUMENT naming the field, before any handler or query runs.
 */
import { CONTRACTS, type ServiceContract } from '@chirp/contracts';
import { TRANSPORT_KINDS, TransportError } from '@chirp/transport';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

type Request = Record<string, unknown>;
type Caller = (request: unknown) => Promise<unknown>;

/** Strings a database cannot store: each must come back as INVALID_ARGUMENT naming its field. */
const UNSTORABLE = ['\0', 'abcd\0abcd', '\0'.repeat(8), 'lone \ud800 high', 'lone \udfff low', 'x\ud83d'];

/** A valid request for every method, made from what the stack holds; the property varies one string in it. */
function templates(seed: { userId: string; otherId: string; token: string; postId: string; cursor: string }) {
  const { userId, otherId, token, postId, cursor } = seed;
  const page = { userId, cursor };
  return {
    auth: {
      signUp: { username: 'fuzz_user', password: 'correct horse', idempotencyKey: 'idem-key-1' },
      logIn: { username: 'alice', password: 'correct horse' },
      verify: { token },
      logOut: { token: 'not-a-real-token-0123456789' },
      getUsers: { ids: [userId, otherId] },
      findUsers: { prefix: 'al', after: 'alb' },
      getProfile: { userId },
      updateProfile: { userId, displayName: 'Alice A.', bio: 'Hello there.' },
    },
    posts: {
      create: { authorId: userId, authorUsername: 'alice', text: 'hello', idempotencyKey: 'idem-key-2' },
      get: { id: postId },
      delete: { id: 'no-such-post', authorId: userId },
      recentAuthors: { limit: 5 },
      userTimeline: page,
      homeTimeline: page,
      search: { query: 'hello', cursor },
    },
    follows: {
      follow: { followerId: userId, followeeId: otherId, idempotencyKey: 'idem-key-3' },
      unfollow: { followerId: otherId, followeeId: userId, idempotencyKey: 'idem-key-4' },
      isFollowing: { followerId: userId, followeeId: otherId },
      followers: page,
      following: page,
      counts: { userId },
      followingAmong: { followerId: userId, userIds: [otherId] },
      mostFollowed: { viewerId: userId },
    },
  } satisfies Record<keyof typeof CONTRACTS, Record<string, Request>>;
}

/** Each string in `request` as a path (['ids', 0]) to replace. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringPaths(item, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => stringPaths(item, [...path, key]));
  }
  return [];
}

function withString(request: Request, path: (string | number)[], text: string): Request {
  const copy = structuredClone(request);
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = text;
  return copy;
}

/** A call's outcome: 'ok' or the error code; a non-TransportError is a failure of the test. */
async function outcome(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
    return { code: 'OK', message: '' };
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe.each(TRANSPORT_KINDS)('arbitrary strings in every field over %s', (transport) => {
  let stack: Stack;
  let cases: { service: string; method: string; request: Request; path: (string | number)[]; call: Caller }[];
  /** service.method of every template (one without a string field has no case, but is still there). */
  let templated: string[];

  beforeAll(async () => {
    stack = await startStack({ transport, database: 'postgres' });
    const alice = (await stack.auth.signUp({ username: 'alice', password: 'correct horse' })).user;
    const bob = (await stack.auth.signUp({ username: 'bob', password: 'battery staple' })).user;
    const { token } = await stack.auth.logIn({ username: 'alice', password: 'correct horse' });
    await stack.posts.create({ authorId: alice.id, authorUsername: 'alice', text: 'hello again' });
    const { post } = await stack.posts.create({ authorId: alice.id, authorUsername: 'alice', text: 'hello' });
    const { nextCursor } = await stack.posts.userTimeline({ userId: alice.id, limit: 1 });
    const seed = { userId: alice.id, otherId: bob.id, token, postId: post.id, cursor: nextCursor! };
    const clients = { auth: stack.auth, posts: stack.posts, follows: stack.follows } as unknown as Record<
      string,
      Record<string, Caller>
    >;
    templated = Object.entries(templates(seed)).flatMap(([service, methods]) =>
      Object.keys(methods).map((method) => `${service}.${method}`),
    );
    cases = Object.entries(templates(seed)).flatMap(([service, methods]) =>
      Object.entries(methods as Record<string, Request>).flatMap(([method, request]) =>
        stringPaths(request).map((path) => ({ service, method, request, path, call: clients[service]![method]! })),
      ),
    );
  }, 60_000);
  afterAll(() => stack?.stop());

  it('has a template for every method of every contract', () => {
    const covered = new Set(templated);
    const methods = Object.values(CONTRACTS as Record<string, ServiceContract>).flatMap((contract) =>
      Object.keys(contract.methods).map((method) => `${contract.name}.${method}`),
    );
    expect(methods.filter((m) => !covered.has(m))).toEqual([]);
  });

  it('refuses NUL and unpaired surrogates in every string field as INVALID_ARGUMENT naming the field', async () => {
    for (const { service, method, request, path, call } of cases) {
      for (const text of UNSTORABLE) {
        const { code, message } = await outcome(call(withString(request, path, text)));
        const where = `${service}.${method} ${path.join('.')} = ${JSON.stringify(text)}`;
        expect({ where, code }).toEqual({ where, code: 'INVALID_ARGUMENT' });
        expect(message, where).toContain(`${service}.${method}: ${path.join('.')}: `);
      }
    }
  });

  it('never answers INTERNAL, whatever Unicode arrives in whichever field', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 150 }),
      fc.string({ unit: 'binary-ascii', minLength: 8, maxLength: 24 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cases.length - 1 }), text, async (index, value) => {
        const { service, method, request, path, call } = cases[index]!;
        const { code, message } = await outcome(call(withString(request, path, value)));
        const where = `${service}.${method} ${path.join('.')} = ${JSON.stringify(value)}: ${message}`;
        expect(['INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED', 'UNIMPLEMENTED'], where).not.toContain(code);
      }),
      { numRuns: 300 },
    );
  });
});
