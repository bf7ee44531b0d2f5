/**
 * The auth service: accounts (sign-up, look-up) and sessions (log-in, verify, log-out).
 * Requests arrive already checked against the contract (username pattern, lengths, no
 * extra fields); this adds what the contract cannot say — bytes, uniqueness, secrets.
 *
 * - Usernames are stored lowercase, so "Alice" and "alice" are one account.
 * - A log-in with a wrong username and one with a wrong password look the same: same code,
 *   same message, and about the same time (an unknown username is checked against a
 *   dummy bcrypt hash).
 * - Log-ins and sign-ups are throttled per client address (the contract's clientAddress, sent
 *   by the web app) as well as per username, so a stranger's guesses do not lock the owner out
 *   (throttle.ts).
 * - A session token is 256 random bits; the database keeps only its SHA-256, so a copy of
 *   the sessions table logs nobody in. verify is one primary-key lookup joined to the user, a
 *   prepared statement (queries.ts). auth keeps no cache of valid sessions: with several
 *   replicas a log-out on one could not evict the others' copies. (The web app trusts a verified
 *   token for at most a second, and forgets it at once when it logs it out.)
 * - A log-out publishes session.revoked (the session's id: a hash of the token that is neither
 *   the token nor what the database stores, and no user id), so notify closes
 *   that session's live sockets at once. Best effort, like every event on HTTP and UDP: if it
 *   is lost, notify's periodic re-verification closes them a little later.
 */
import { randomUUID } from 'node:crypto';
import {
  DomainError,
  auth,
  MAX_BIO_CHARS,
  MAX_DISPLAY_NAME_CHARS,
  publish,
  type Implementation,
  type Profile,
  type User,
} from '@chirp/contracts';
import type { CallContext, Logger, Transport } from '@chirp/transport';
import { isUniqueViolation, type Sql } from '@chirp/db';
import type { PrismaClient } from './generated/prisma/client.js';
import {
  PROFILE,
  SESSION_USER,
  UPDATE_PROFILE,
  USERS_BY_ID,
  USERS_IN_RANGE,
  USERS_IN_RANGE_AFTER,
  type UserRow,
} from './queries.js';
import { profileText } from './profile.js';
import { checkPasswordRules, dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { LoginThrottle, SignUpThrottle } from './throttle.js';
import { hashToken, newSessionToken, sessionIdOf } from './tokens.js';

export interface AuthServiceDeps {
  prisma: PrismaClient;
  /** The same database for the hot paths' prepared statements. */
  sql: Sql;
  bcryptCost: number;
  sessionTtlMs: number;
  /** Failed log-ins per username and address, per address, per username (throttle.ts). */
  throttle: LoginThrottle;
  /** Sign-ups per address. */
  signUps: SignUpThrottle;
  /** session.revoked events: the runtime's transport. */
  transport: Pick<Transport, 'publish'>;
  logger: Logger;
}

export const FIND_USERS_DEFAULT_LIMIT = 20;
/** The characters a stored username is made of; a prefix with any other matches nobody. */
const USERNAME_CHARS = /^[a-z0-9_]+$/;

const wrongCredentials = () => new DomainError('UNAUTHENTICATED', 'wrong username or password');
const noSession = () => new DomainError('UNAUTHENTICATED', 'session expired or logged out');

export function createAuthService({
  prisma,
  sql,
  bcryptCost,
  sessionTtlMs,
  throttle,
  signUps,
  transport,
  logger,
}: AuthServiceDeps): Implementation<typeof auth> {
  const dummyHash = dummyPasswordHash(bcryptCost);

  /** The account an earlier sign-up with this key made, if any. */
  async function signedUpWith(
    idempotencyKey: string,
    username: string,
    context: CallContext,
  ): Promise<User | undefined> {
    const earlier = await sql.traced(context.trace, 'SELECT users', () =>
      prisma.user.findUnique({ where: { idempotencyKey } }),
    );
    if (earlier === null) return undefined;
    if (earlier.username !== username) {
      throw new DomainError(
        'INVALID_ARGUMENT',
        `idempotencyKey: already used to sign up ${earlier.username}; use a new key for another sign-up`,
      );
    }
    return toUser(earlier);
  }

  return {
    async signUp({ username, password, idempotencyKey, clientAddress }, context) {
      checkPasswordRules(password);
      const name = username.toLowerCase();
      if (idempotencyKey !== undefined) {
        const earlier = await signedUpWith(idempotencyKey, name, context);
        if (earlier) return { user: earlier }; // a retry: not another sign-up
      }
      const attempt = signUps.begin(clientAddress);
      try {
        const passwordHash = await hashPassword(password, bcryptCost);
        const row = await sql.traced(context.trace, 'INSERT users', () =>
          prisma.user.create({
            data: { id: randomUUID(), username: name, passwordHash, idempotencyKey: idempotencyKey ?? null },
          }),
        );
        return { user: toUser(row) };
      } catch (err) {
        if (!isUniqueViolation(err)) {
          attempt.abandoned();
          throw err;
        }
        // A concurrent retry of this very sign-up may have won the race: it is not a conflict.
        const earlier = idempotencyKey === undefined ? undefined : await signedUpWith(idempotencyKey, name, context);
        if (earlier) {
          attempt.abandoned();
          return { user: earlier };
        }
        throw new DomainError('ALREADY_EXISTS', `username ${name} is taken`);
      }
    },

    async logIn({ username, password, clientAddress }, context) {
      const name = username.toLowerCase();
      const attempt = throttle.begin(name, clientAddress);
      let row;
      try {
        row = await sql.traced(context.trace, 'SELECT users', () =>
          prisma.user.findUnique({ where: { username: name } }),
        );
        const right = await verifyPassword(password, row?.passwordHash ?? (await dummyHash));
        if (row === null || !right) throw wrongCredentials(); // counted by the throttle
        attempt.succeeded();
      } catch (err) {
        if (!(err instanceof DomainError)) attempt.abandoned();
        throw err;
      }
      const token = newSessionToken();
      const expiresAt = new Date(Date.now() + sessionTtlMs);
      const session = { tokenHash: hashToken(token), userId: row.id, expiresAt };
      await sql.traced(context.trace, 'INSERT sessions', () => prisma.session.create({ data: session }));
      return { token, user: toUser(row), expiresAt: expiresAt.toISOString() };
    },

    async verify({ token }, context) {
      const [row] = await sql.query<UserRow>(SESSION_USER, [hashToken(token)], context.trace);
      if (row === undefined) throw noSession();
      return { user: toUser(row) };
    },

    async logOut({ token }, context) {
      const tokenHash = hashToken(token);
      const ended = await sql.traced(
        context.trace,
        'DELETE sessions',
        () => prisma.$queryRaw<{ userId: string }[]>`
          DELETE FROM sessions WHERE token_hash = ${tokenHash} RETURNING user_id AS "userId"`,
      );
      for (const { userId } of ended) {
        const event = { sessionId: sessionIdOf(token) };
        await publish(transport, auth, 'session.revoked', event, { parent: context.trace }).catch((err: unknown) =>
          logger.warn({ err, userId, traceId: context.traceId }, 'session.revoked was not published; notify re-checks'),
        );
      }
      return {};
    },

    async getUsers({ ids }, context) {
      const unique = [...new Set(ids)];
      const rows = await sql.query<UserRow>(USERS_BY_ID, [unique], context.trace);
      const byId = new Map(rows.map((row) => [row.id, toUser(row)]));
      return { users: unique.flatMap((id) => byId.get(id) ?? []) };
    },

    async getProfile({ userId }, context) {
      const [profile] = await sql.query<Profile>(PROFILE, [userId], context.trace);
      if (profile === undefined) throw new DomainError('NOT_FOUND', `no user ${userId}`);
      return profile;
    },

    async updateProfile({ userId, displayName, bio }, context) {
      const [profile] = await sql.query<Profile>(
        UPDATE_PROFILE,
        [
          userId,
          profileText(displayName, 'display name', MAX_DISPLAY_NAME_CHARS, { oneLine: true }),
          profileText(bio, 'bio', MAX_BIO_CHARS),
        ],
        context.trace,
      );
      if (profile === undefined) throw new DomainError('NOT_FOUND', `no user ${userId}`);
      return profile;
    },

    async findUsers({ prefix, after, limit = FIND_USERS_DEFAULT_LIMIT }, context) {
      const start = prefix.toLowerCase();
      if (!USERNAME_CHARS.test(start)) return { users: [] };
      // Byte order ("C" collation, see the migration): every name starting with `start` lies in
      // [start, start + '~'), because '~' sorts after every character a username may hold.
      // One row more than asked for tells whether there is a next page.
      const from = after?.toLowerCase();
      const rows = await sql.query<UserRow>(
        from === undefined || from < start ? USERS_IN_RANGE : USERS_IN_RANGE_AFTER,
        [from === undefined || from < start ? start : from, `${start}~`, limit + 1],
        context.trace,
      );
      const users = rows.slice(0, limit).map(toUser);
      return rows.length > limit ? { users, next: users.at(-1)!.username } : { users };
    },
  };
}

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, createdAt: row.createdAt.toISOString() };
}
