import { Type } from '@sinclair/typebox';
import { defineService } from './define.js';
import { IdempotencyKey, PageRequest, UserId } from './common.js';

const Pair = { followerId: UserId, followeeId: UserId, idempotencyKey: IdempotencyKey };
/** A page of followers or followees; up to 1000 a page for services' own use. */
const UserListRequest = Type.Object(
  { userId: UserId, cursor: PageRequest.cursor, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);
const UserIdPage = Type.Object({ userIds: Type.Array(UserId), nextCursor: Type.Optional(Type.String()) });

export const follows = defineService({
  name: 'follows',
  defaultPort: 4103,
  methods: {
    follow: {
      idempotent: true,
      summary: 'Follow someone. Idempotent. INVALID_ARGUMENT for yourself, NOT_FOUND for an unknown user.',
      request: Type.Object(Pair, { additionalProperties: false }),
      reply: Type.Object({ following: Type.Boolean() }),
    },
    unfollow: {
      idempotent: true,
      summary: 'Stop following someone. Idempotent.',
      request: Type.Object(Pair, { additionalProperties: false }),
      reply: Type.Object({ following: Type.Boolean() }),
    },
    isFollowing: {
      idempotent: true,
      summary: 'Whether one user follows another.',
      request: Type.Object({ followerId: UserId, followeeId: UserId }, { additionalProperties: false }),
      reply: Type.Object({ following: Type.Boolean() }),
    },
    followers: {
      idempotent: true,
      summary: "Who follows a user, most recent first. Limit up to 1000 for services' own use.",
      request: UserListRequest,
      reply: UserIdPage,
    },
    following: {
      idempotent: true,
      summary: 'Whom a user follows, most recent first.',
      request: UserListRequest,
      reply: UserIdPage,
    },
    followingAmong: {
      idempotent: true,
      summary: 'Which of up to 100 users one user follows (for a list of people with follow buttons).',
      request: Type.Object(
        { followerId: UserId, userIds: Type.Array(UserId, { maxItems: 100 }) },
        { additionalProperties: false },
      ),
      reply: Type.Object({ userIds: Type.Array(UserId) }),
    },
    mostFollowed: {
      idempotent: true,
      summary:
        'The most followed users, most followers first: people to suggest. Leaves out `viewerId` and whom they follow.',
      request: Type.Object(
        { viewerId: Type.Optional(UserId), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) },
        { additionalProperties: false },
      ),
      reply: Type.Object({ users: Type.Array(Type.Object({ userId: UserId, followers: Type.Integer() })) }),
    },
    counts: {
      idempotent: true,
      summary: 'How many followers a user has and how many they follow.',
      request: Type.Object({ userId: UserId }, { additionalProperties: false }),
      reply: Type.Object({ followers: Type.Integer(), following: Type.Integer() }),
    },
  },
  events: {},
});
