import { Type } from '@sinclair/typebox';
import { defineService } from './define.js';
import { IdempotencyKey, MAX_BIO_CHARS, MAX_DISPLAY_NAME_CHARS, Profile, User, UserId, Username } from './common.js';

/** Session tokens are opaque random strings; the service stores only their hash. */
const Token = Type.String({ minLength: 16, maxLength: 256 });
/** 8–72: bcrypt reads at most 72 bytes; the service also checks the UTF-8 length. */
const Password = Type.String({ minLength: 8, maxLength: 72 });
/**
 * The address of the person behind the call, as the caller (the web app) saw it: its socket's
 * peer, or X-Forwarded-For from a proxy it trusts. auth's throttles count per address, so a
 * stranger's guesses do not lock the owner out. Absent for a trusted service calling on its own
 * behalf (seeding, tools): then only the per-username limits apply.
 */
const ClientAddress = Type.Optional(
  Type.String({ format: 'ip', maxLength: 64, description: 'IPv4 or IPv6 address of the end user' }),
);

export const auth = defineService({
  name: 'auth',
  defaultPort: 4101,
  methods: {
    signUp: {
      summary:
        'Create an account. ALREADY_EXISTS if the username is taken (case-insensitively); RESOURCE_EXHAUSTED when one address signs up too often.',
      request: Type.Object(
        { username: Username, password: Password, idempotencyKey: IdempotencyKey, clientAddress: ClientAddress },
        { additionalProperties: false },
      ),
      reply: Type.Object({ user: User }),
    },
    logIn: {
      summary:
        'Exchange username and password for a new session token. UNAUTHENTICATED for either one wrong; RESOURCE_EXHAUSTED when throttled (per username and address, per address, per username).',
      request: Type.Object(
        {
          username: Type.String({ minLength: 1, maxLength: 64 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          clientAddress: ClientAddress,
        },
        { additionalProperties: false },
      ),
      reply: Type.Object({ token: Token, user: User, expiresAt: Type.String({ format: 'date-time' }) }),
    },
    verify: {
      idempotent: true,
      summary:
        "Who a session token belongs to. UNAUTHENTICATED if unknown, expired or logged out. On every request's path: fast.",
      request: Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
      reply: Type.Object({ user: User }),
    },
    logOut: {
      idempotent: true,
      summary: 'Revoke a session token at once. Idempotent. Publishes session.revoked.',
      request: Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
      reply: Type.Object({}),
    },
    getUsers: {
      idempotent: true,
      summary: 'Users by id (unknown ids are left out).',
      request: Type.Object({ ids: Type.Array(UserId, { maxItems: 1000 }) }, { additionalProperties: false }),
      reply: Type.Object({ users: Type.Array(User) }),
    },
    getProfile: {
      idempotent: true,
      summary: "A user's display name and bio (empty when not set). NOT_FOUND for an unknown user.",
      request: Type.Object({ userId: UserId }, { additionalProperties: false }),
      reply: Profile,
    },
    updateProfile: {
      idempotent: true,
      summary: `Set one's display name (one line, at most ${MAX_DISPLAY_NAME_CHARS} characters) and bio (at most ${MAX_BIO_CHARS}), trimmed; empty clears. INVALID_ARGUMENT past a limit, in words.`,
      request: Type.Object(
        {
          userId: UserId,
          // Generous here: the exact rule (code points after trimming) is the service's.
          displayName: Type.String({ maxLength: 4 * MAX_DISPLAY_NAME_CHARS }),
          bio: Type.String({ maxLength: 4 * MAX_BIO_CHARS }),
        },
        { additionalProperties: false },
      ),
      reply: Profile,
    },
    findUsers: {
      idempotent: true,
      summary: 'Users whose name starts with a prefix, alphabetically; a page at a time (pass `next` back as `after`).',
      request: Type.Object(
        {
          prefix: Type.String({ minLength: 1, maxLength: 20 }),
          /** The next page starts after this username (the previous page's `next`). */
          after: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
      reply: Type.Object({ users: Type.Array(User), next: Type.Optional(Type.String()) }),
    },
  },
  events: {
    /**
     * A session ended by log-out, so notify can close its live sockets at once rather than at its
     * next re-check. The session is named by its id: the SHA-256 (hex) of "chirp session id", a
     * NUL byte and the token. Whoever holds the token (notify, from the socket's cookie) computes
     * it; whoever only reads the event learns nothing usable — not the token, not the hash auth
     * stores sessions by (a plain SHA-256 of the token), not even whose session it was.
     */
    'session.revoked': Type.Object({ sessionId: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
  },
});
