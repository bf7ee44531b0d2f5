/**
 * The posts service: create and read posts, timelines, search. Pure logic over Prisma and
 * the transport (follows calls, post.created events); config and wiring live in start.ts.
 *
 * create, in order:
 *   1. the text rule (text.ts); nothing is stored on error;
 *   2. idempotency: a create carrying the (authorId, idempotencyKey) of an earlier one
 *      returns that post and publishes nothing; two racing creates with the same key meet
 *      at the unique index, and the loser returns the winner's post;
 *   3. the row is committed, then post.created is published with the caller's trace id.
 *      If publishing fails the post stays created and the error is logged: the timeline
 *      is the truth, the event only a prompt for live updates (followers see the post on
 *      their next timeline read). A transactional outbox would make the event as durable
 *      as the row; for notifications that are best effort on UDP and HTTP anyway, it is
 *      not worth a second table yet.
 */
import { posts, publish, type Implementation } from '@chirp/contracts';
import { TransportError, type Logger, type Transport } from '@chirp/transport';
import { isUniqueViolation } from '@chirp/db';
import type { PrismaClient } from './generated/prisma/client.js';
import { newPostId } from './ids.js';
import { searchPosts } from './search.js';
import { postText } from './text.js';
import { homeAuthors, timelineOf } from './timeline.js';
import { toWire } from './wire.js';

export interface PostsDeps {
  prisma: PrismaClient;
  /** Calls to follows and post.created events: the runtime's transport. */
  transport: Pick<Transport, 'request' | 'publish'>;
  logger: Logger;
  /** A home timeline reads the posts of at most this many followees. */
  homeMaxFollowees: number;
}

const POST_FIELDS = { id: true, authorId: true, authorUsername: true, text: true, createdAt: true } as const;

export function createPostsService(deps: PostsDeps): Implementation<typeof posts> {
  const { prisma, transport, logger } = deps;

  const earlier = (authorId: string, idempotencyKey: string) =>
    prisma.post.findUnique({ where: { authorId_idempotencyKey: { authorId, idempotencyKey } }, select: POST_FIELDS });

  return {
    async create(request, context) {
      const text = postText(request.text);
      const key = request.idempotencyKey;
      if (key !== undefined) {
        const first = await earlier(request.authorId, key);
        if (first) return { post: toWire(first) };
      }
      const { id, createdAt } = newPostId();
      let stored;
      try {
        stored = await prisma.post.create({
          data: {
            id,
            createdAt,
            text,
            authorId: request.authorId,
            authorUsername: request.authorUsername,
            idempotencyKey: key ?? null,
          },
          select: POST_FIELDS,
        });
      } catch (err) {
        const raced = key !== undefined && isUniqueViolation(err) ? await earlier(request.authorId, key) : null;
        if (raced) return { post: toWire(raced) };
        throw err;
      }
      const post = toWire(stored);
      try {
        await publish(
          transport,
          posts,
          'post.created',
          { post, traceId: context.traceId },
          { traceId: context.traceId },
        );
      } catch (err) {
        logger.error(
          { err, postId: post.id, traceId: context.traceId },
          'post.created was not published; the post is stored and on timelines',
        );
      }
      return { post };
    },

    async get(request) {
      const post = await prisma.post.findUnique({ where: { id: request.id }, select: POST_FIELDS });
      if (!post) throw new TransportError('NOT_FOUND', `no post ${request.id}`);
      return { post: toWire(post) };
    },

    userTimeline: (request) => timelineOf(prisma, [request.userId], request),

    async homeTimeline(request, context) {
      const authors = await homeAuthors(transport, logger, request.userId, deps.homeMaxFollowees, context);
      return timelineOf(prisma, authors, request);
    },

    search: (request) => searchPosts(prisma, request.query, request),
  };
}
