import { Type } from '@sinclair/typebox';
import { defineService } from './define.js';
import { IdempotencyKey, MAX_POST_CHARS, PageRequest, Post, PostPage, TimelinePageRequest, UserId } from './common.js';

export const posts = defineService({
  name: 'posts',
  defaultPort: 4102,
  methods: {
    create: {
      summary: `Publish a post of 1–${MAX_POST_CHARS} characters (Unicode code points, after trimming). Publishes post.created, written to an outbox in the post's own transaction and published from it after commit: at least once, even if posts crashes.`,
      request: Type.Object(
        {
          authorId: UserId,
          authorUsername: Type.String({ minLength: 1, maxLength: 20 }),
          // Generous here: the exact rule (code points after trimming) is the service's.
          text: Type.String({ maxLength: 4 * MAX_POST_CHARS }),
          idempotencyKey: IdempotencyKey,
        },
        { additionalProperties: false },
      ),
      reply: Type.Object({ post: Post }),
    },
    delete: {
      summary:
        'Delete a post; only its author may (PERMISSION_DENIED for anyone else, NOT_FOUND if there is none). Publishes post.deleted, through the outbox like post.created.',
      request: Type.Object(
        { id: Type.String({ minLength: 1, maxLength: 64 }), authorId: UserId },
        { additionalProperties: false },
      ),
      reply: Type.Object({}),
    },
    get: {
      idempotent: true,
      summary: 'One post by id. NOT_FOUND if there is none.',
      request: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      reply: Type.Object({ post: Post }),
    },
    userTimeline: {
      idempotent: true,
      summary: "A user's posts, newest first; a page at a time, older (`cursor`) or newer (`newerThan`).",
      request: Type.Object({ userId: UserId, ...TimelinePageRequest }, { additionalProperties: false }),
      reply: PostPage,
    },
    homeTimeline: {
      idempotent: true,
      summary: 'A user’s own posts and those of everyone they follow, newest first; paged as userTimeline.',
      request: Type.Object({ userId: UserId, ...TimelinePageRequest }, { additionalProperties: false }),
      reply: PostPage,
    },
    recentAuthors: {
      idempotent: true,
      summary: 'Who posted last, one entry per author, the most recent first: people to suggest.',
      request: Type.Object(
        { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) },
        { additionalProperties: false },
      ),
      reply: Type.Object({
        authors: Type.Array(
          Type.Object({ userId: UserId, username: Type.String(), lastPostAt: Type.String({ format: 'date-time' }) }),
        ),
      }),
    },
    search: {
      idempotent: true,
      summary: 'Posts matching every word of a query (full-text, ranked, newest first on ties).',
      request: Type.Object(
        { query: Type.String({ minLength: 1, maxLength: 200 }), ...PageRequest },
        { additionalProperties: false },
      ),
      reply: PostPage,
    },
  },
  events: {
    'post.created': Type.Object({ post: Post, traceId: Type.String() }),
    'post.deleted': Type.Object({ postId: Type.String(), authorId: UserId, traceId: Type.String() }),
  },
});
