import { Type } from '@sinclair/typebox';
import { defineService } from './define.js';
import { IdempotencyKey, User, UserId, Username } from './common.js';

/** Session tokens are opaque random strings; the service stores only their hash. */
const Token = Type.String({ minLength: 16, maxLength: 256 });
/** 8–72: bcrypt reads at most 72 bytes; the service also checks the UTF-8 length. */
const Password = Type.String({ minLength: 8, maxLength: 72 });

export const auth = defineService({
  name: 'auth',
  defaultPort: 4101,
  methods: {
    signUp: {
      summary: 'Create an account. ALREADY_EXISTS if the username is taken (case-insensitively).',
      request: Type.Object(
        { username: Username, password: Password, idempotencyKey: IdempotencyKey },
        { additionalProperties: false },
      ),
      reply: Type.Object({ user: User }),
    },
    logIn: {
      summary:
        'Exchange username and password for a new session token. UNAUTHENTICATED for either one wrong; RESOURCE_EXHAUSTED when throttled.',
      request: Type.Object(
        {
          username: Type.String({ minLength: 1, maxLength: 64 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
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
    findUsers: {
      idempotent: true,
      summary: 'Users whose name starts with a prefix, alphabetically.',
      request: Type.Object(
        {
          prefix: Type.String({ minLength: 1, maxLength: 20 }),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
      reply: Type.Object({ users: Type.Array(User) }),
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
