/**
 * The posts service: create and read posts, timelines, search. Pure logic over Prisma and
 * the transport (follows calls, post.created events); config and wiring live in start.ts.
 *
 * create, in order:
 *   1. the text rule (text.ts); nothing is stored on error;
 *   2. one statement (queries.ts) that INSERTs the post … ON CONFLICT DO NOTHING and, only if
 *      it inserted, post.created (with the caller's trace id and traceparent) into the outbox
 *      table (outbox.ts): the event is committed with the post or not at all. A create carrying
 *      the (authorId, idempotencyKey) of an earlier one inserts nothing, returns that post and
 *      writes no second event; two racing creates with the same key meet at the unique index;
 *   3. after the commit the event is handed to the relay (event-relay.ts), and create returns:
 *      the publish is not on its latency. The relay publishes in hand-over order, retries a
 *      failed publish with backoff (100 ms doubling to 2 s, jittered) and deletes the outbox
 *      row once the publish succeeded (AMQP: confirmed). What is promised: at least once. An
 *      event the relay gives up on (publishing failing 60 s, more than 10,000 pending) stays in
 *      the outbox and is handed to it again once it is idle (outbox.ts); one still pending 5 s
 *      into a shutdown, or that a crash of posts caught before its publish, is published when
 *      posts starts again (by any replica); a crash between a publish and its
 *      row's deletion publishes it twice (notify drops the copy by post id). On HTTP, TCP and
 *      UDP a starting posts holds events back until its subscribers have renewed their
 *      registrations with it (start.ts), or they would reach nobody. The timeline stays the
 *      truth, the event a prompt for live updates.
 *
 * delete: one DELETE of the author's own row (the post leaves every timeline and search with
 * it) writing post.deleted to the outbox in the same statement, then the same relay, so it is
 * published after the post's own post.created and with the same promise. Anyone but the
 * author: PERMISSION_DENIED, nothing deleted; no such post (or deleted already): NOT_FOUND.
 */
import type { Context } from '@opentelemetry/api';
import { DomainError, posts, type EventOf, type Implementation } from '@chirp/contracts';
import type { Logger, Transport } from '@chirp/transport';
import type { Sql } from '@chirp/db';
import type { PrismaClient } from './generated/prisma/client.js';
import { newPostId } from './ids.js';
import { traceparentOf } from './outbox.js';
import { DELETE_POST, EARLIER_POST, INSERT_POST, RECENT_AUTHORS } from './queries.js';
import { searchPosts } from './search.js';
import { postText } from './text.js';
import { homeAuthors, timelineOf } from './timeline.js';
import { toWire, type StoredPost } from './wire.js';

export type PostCreated = EventOf<typeof posts, 'post.created'>;
export type PostDeleted = EventOf<typeof posts, 'post.deleted'>;

/**
 * An event handed to the relay, with the trace of the call that made it (its publish is a
 * child) and its outbox row (deleted once it is published, outbox.ts).
 */
export type PostEventHandover =
  | { topic: 'post.created'; event: PostCreated; trace: Context; outboxId: string }
  | { topic: 'post.deleted'; event: PostDeleted; trace: Context; outboxId: string };

export interface PostsDeps {
  prisma: PrismaClient;
  /** The same database, for the hot paths' prepared statements (queries.ts). */
  sql: Sql;
  /** Calls to follows: the runtime's transport. */
  transport: Pick<Transport, 'request'>;
  /** Takes committed post.created and post.deleted events (in the outbox) and publishes them in order (start.ts: an EventRelay). */
  events: { hand(handover: PostEventHandover): void };
  logger: Logger;
  /** A home timeline reads the posts of at most this many followees. */
  homeMaxFollowees: number;
}

const POST_FIELDS = { id: true, authorId: true, authorUsername: true, text: true, createdAt: true } as const;

export function createPostsService(deps: PostsDeps): Implementation<typeof posts> {
  const { prisma, sql, transport, logger } = deps;

  return {
    async create(request, context) {
      const text = postText(request.text);
      const key = request.idempotencyKey ?? null;
      const { id, createdAt } = newPostId();
      const post = toWire({ id, createdAt, text, authorId: request.authorId, authorUsername: request.authorUsername });
      const event: PostCreated = { post, traceId: context.traceId };
      const [stored] = await sql.query<StoredPost & { outboxId: string }>(
        INSERT_POST,
        [
          id,
          createdAt,
          text,
          request.authorId,
          request.authorUsername,
          key,
          JSON.stringify(event),
          traceparentOf(context.trace),
        ],
        context.trace,
      );
      if (stored === undefined) {
        // A retry, or a racing copy, of a create with this key: the first post, and no second event.
        const [first] = await sql.query<StoredPost>(EARLIER_POST, [request.authorId, key], context.trace);
        if (first === undefined) throw new Error(`posts: the insert with key ${key} met a row that is gone`);
        return { post: toWire(first) };
      }
      deps.events.hand({ topic: 'post.created', event, trace: context.trace, outboxId: stored.outboxId });
      return { post: toWire(stored) };
    },

    async delete(request, context) {
      const event: PostDeleted = { postId: request.id, authorId: request.authorId, traceId: context.traceId };
      const [deleted] = await sql.query<{ id: string; outboxId: string }>(
        DELETE_POST,
        [request.id, request.authorId, JSON.stringify(event), traceparentOf(context.trace)],
        context.trace,
      );
      if (deleted === undefined) {
        const post = await sql.traced(context.trace, 'SELECT posts', () =>
          prisma.post.findUnique({ where: { id: request.id }, select: { id: true } }),
        );
        if (post) throw new DomainError('PERMISSION_DENIED', 'only its author can delete a post');
        throw new DomainError('NOT_FOUND', `no post ${request.id}`);
      }
      deps.events.hand({ topic: 'post.deleted', event, trace: context.trace, outboxId: deleted.outboxId });
      return {};
    },

    async get(request, context) {
      const post = await sql.traced(context.trace, 'SELECT posts', () =>
        prisma.post.findUnique({ where: { id: request.id }, select: POST_FIELDS }),
      );
      if (!post) throw new DomainError('NOT_FOUND', `no post ${request.id}`);
      return { post: toWire(post) };
    },

    userTimeline: (request, context) => timelineOf(sql, [request.userId], request, context),

    async homeTimeline(request, context) {
      const authors = await homeAuthors(transport, logger, request.userId, deps.homeMaxFollowees, context);
      return timelineOf(sql, authors, request, context);
    },

    async recentAuthors({ limit = 10 }, context) {
      const rows = await sql.query<{ userId: string; username: string; lastPostAt: Date }>(
        RECENT_AUTHORS,
        [limit],
        context.trace,
      );
      return {
        authors: rows.map((row) => ({ ...row, lastPostAt: new Date(row.lastPostAt).toISOString() })),
      };
    },

    search: (request, context) => searchPosts(sql, request.query, request, context),
  };
}
