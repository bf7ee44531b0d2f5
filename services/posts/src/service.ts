/**
 * The posts service: create and read posts, timelines, search. Pure logic over Prisma and
 * the transport (follows calls, post.created events); config and wiring live in start.ts.
 *
 * create, in order:
 *   1. the text rule (text.ts); nothing is stored on error;
 *   2. one INSERT … ON CONFLICT DO NOTHING (queries.ts): a create carrying the (authorId,
 *      idempotencyKey) of an earlier one inserts nothing, returns that post and publishes
 *      nothing; two racing creates with the same key meet at the unique index the same way;
 *   3. the row is committed, post.created (with the caller's trace id) is handed to the
 *      event relay (event-relay.ts), and create returns: the publish is not on its latency.
 *      The relay publishes in hand-over order and retries a failed publish with backoff
 *      (100 ms doubling to 2 s, jittered). What is promised: an event survives a broker
 *      outage or publish failure of up to 60 s after its hand-over, while the process
 *      lives; past that, beyond 10,000 pending events (the oldest go), or still pending
 *      5 s into a shutdown, it is dropped with an error log line counting the drops. A
 *      publish whose confirm was lost with the connection is sent again (at least once).
 *      A crash of posts between the commit and the publish still loses the event: only a
 *      transactional outbox (the event written in the row's transaction, relayed from
 *      that table) would make it as durable as the post. The timeline stays the truth,
 *      the event a prompt for live updates: followers see the post on their next read.
 *
 * delete: one DELETE of the author's own row (the post leaves every timeline and search with
 * it), then post.deleted through the same relay, so it is published after the post's own
 * post.created and with the same promise. Anyone but the author: PERMISSION_DENIED, nothing
 * deleted; no such post (or deleted already): NOT_FOUND.
 */
import type { Context } from '@opentelemetry/api';
import { DomainError, posts, type EventOf, type Implementation } from '@chirp/contracts';
import type { Logger, Transport } from '@chirp/transport';
import type { Sql } from '@chirp/db';
import type { PrismaClient } from './generated/prisma/client.js';
import { newPostId } from './ids.js';
import { DELETE_POST, EARLIER_POST, INSERT_POST, RECENT_AUTHORS } from './queries.js';
import { searchPosts } from './search.js';
import { postText } from './text.js';
import { homeAuthors, timelineOf } from './timeline.js';
import { toWire, type StoredPost } from './wire.js';

export type PostCreated = EventOf<typeof posts, 'post.created'>;
export type PostDeleted = EventOf<typeof posts, 'post.deleted'>;

/** An event handed to the relay, with the trace of the call that made it (its publish is a child). */
export type PostEventHandover =
  | { topic: 'post.created'; event: PostCreated; trace: Context }
  | { topic: 'post.deleted'; event: PostDeleted; trace: Context };

export interface PostsDeps {
  prisma: PrismaClient;
  /** The same database, for the hot paths' prepared statements (queries.ts). */
  sql: Sql;
  /** Calls to follows: the runtime's transport. */
  transport: Pick<Transport, 'request'>;
  /** Takes post.created and post.deleted events and publishes them in order (start.ts: an EventRelay). */
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
      const [stored] = await sql.query<StoredPost>(INSERT_POST, [
        id,
        createdAt,
        text,
        request.authorId,
        request.authorUsername,
        key,
      ]);
      if (stored === undefined) {
        // A retry, or a racing copy, of a create with this key: the first post, and no second event.
        const [first] = await sql.query<StoredPost>(EARLIER_POST, [request.authorId, key]);
        if (first === undefined) throw new Error(`posts: the insert with key ${key} met a row that is gone`);
        return { post: toWire(first) };
      }
      const post = toWire(stored);
      deps.events.hand({ topic: 'post.created', event: { post, traceId: context.traceId }, trace: context.trace });
      return { post };
    },

    async delete(request, context) {
      const [deleted] = await sql.query<{ id: string }>(DELETE_POST, [request.id, request.authorId]);
      if (deleted === undefined) {
        const post = await prisma.post.findUnique({ where: { id: request.id }, select: { id: true } });
        if (post) throw new DomainError('PERMISSION_DENIED', 'only its author can delete a post');
        throw new DomainError('NOT_FOUND', `no post ${request.id}`);
      }
      const event = { postId: request.id, authorId: request.authorId, traceId: context.traceId };
      deps.events.hand({ topic: 'post.deleted', event, trace: context.trace });
      return {};
    },

    async get(request) {
      const post = await prisma.post.findUnique({ where: { id: request.id }, select: POST_FIELDS });
      if (!post) throw new DomainError('NOT_FOUND', `no post ${request.id}`);
      return { post: toWire(post) };
    },

    userTimeline: (request) => timelineOf(sql, [request.userId], request),

    async homeTimeline(request, context) {
      const authors = await homeAuthors(transport, logger, request.userId, deps.homeMaxFollowees, context);
      return timelineOf(sql, authors, request);
    },

    async recentAuthors({ limit = 10 }) {
      const rows = await sql.query<{ userId: string; username: string; lastPostAt: Date }>(RECENT_AUTHORS, [limit]);
      return {
        authors: rows.map((row) => ({ ...row, lastPostAt: new Date(row.lastPostAt).toISOString() })),
      };
    },

    search: (request) => searchPosts(sql, request.query, request),
  };
}
