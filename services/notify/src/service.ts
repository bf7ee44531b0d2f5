/**
 * What notify does with its two events.
 *
 * auth's `session.revoked` (a log-out): close that session's sockets at once with 4001, so a
 * logged-out browser stops receiving posts within moments, not at the next re-verification.
 *
 * posts' `post.created`: push the post to every open socket of
 * the author's followers, and of the author (their other tabs show it too), as one text
 * frame `{"type":"post","post":{…},"traceId":"…"}`. posts' `post.deleted`: the same people,
 * `{"type":"post.deleted","postId":"…","traceId":"…"}`, so open pages drop the post.
 *
 * Followers are read from follows a page (1000) at a time, and each page is pushed as soon
 * as it arrives, so the first followers see the post before the last page is read. The
 * frame is serialized once; each send only queues it on its socket (sessions.ts), so the
 * fan-out never waits for a browser. With no socket open on this replica there is nobody
 * to tell, and follows is not asked at all.
 *
 * Each event is pushed once: posts publishes at least once (from its outbox: a crash between a
 * publish and its row's deletion publishes it again), so a post id seen lately (recent-ids.ts:
 * the last 10,000 ids within 10 minutes, per event kind) is not pushed again.
 *
 * Best effort, like a browser's view of it: if follows cannot be read, the rest of the
 * fan-out is skipped and logged, not retried (a retry would push the post twice to the
 * followers already served); the post is in everyone's timeline on their next load.
 */
import { performance } from 'node:perf_hooks';
import type { Context } from '@opentelemetry/api';
import type { Client, EventOf, auth, follows, posts } from '@chirp/contracts';
import type { Logger } from '@chirp/transport';
import { RecentIds } from './recent-ids.js';
import type { Sessions } from './sessions.js';

/** The most follows.followers returns per page (for services' own use). */
export const FOLLOWERS_PAGE_SIZE = 1000;

export interface NotifyDeps {
  follows: Pick<Client<typeof follows>, 'followers'>;
  sessions: Sessions;
  logger: Logger;
}

export interface NotifyService {
  /** Push a new post to its author's followers' sockets; `trace` is the event delivery's context. */
  onPostCreated(event: EventOf<typeof posts, 'post.created'>, trace: Context): Promise<void>;
  /** Tell the same sockets that a post is gone. */
  onPostDeleted(event: EventOf<typeof posts, 'post.deleted'>, trace: Context): Promise<void>;
  onSessionRevoked(event: EventOf<typeof auth, 'session.revoked'>): void;
}

export function createNotifyService({ follows, sessions, logger }: NotifyDeps): NotifyService {
  const created = new RecentIds();
  const deleted = new RecentIds();
  /** Send `message` to the sockets of `authorId` and of every follower of theirs. */
  const fanOut = async (authorId: string, message: object, trace: Context, about: object): Promise<void> => {
    const started = performance.now();
    const log = { ...about, authorId };
    if (sessions.size === 0) {
      logger.debug({ ...log, sockets: 0 }, 'notify: fan-out skipped, no socket open');
      return;
    }
    const frame = Buffer.from(JSON.stringify(message));
    let sockets = sessions.push([authorId], frame, trace);
    let followers = 0;
    let cursor: string | undefined;
    try {
      do {
        const page = await follows.followers(
          { userId: authorId, limit: FOLLOWERS_PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) },
          { parent: trace },
        );
        followers += page.userIds.length;
        sockets += sessions.push(page.userIds, frame, trace);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    } catch (err) {
      logger.error(
        { ...log, err, followers, sockets },
        'notify: fan-out cut short: cannot list the followers of the author',
      );
      return;
    }
    const ms = Math.round((performance.now() - started) * 100) / 100;
    logger.info({ ...log, followers, sockets, ms }, 'notify: fan-out');
  };

  return {
    onSessionRevoked({ sessionId }) {
      const closed = sessions.endSession(sessionId);
      if (closed > 0) logger.info({ sockets: closed }, 'notify: closed the sockets of a logged-out session');
    },

    async onPostCreated({ post, traceId }, trace) {
      if (!created.firstTime(post.id)) {
        logger.info({ traceId, postId: post.id }, 'notify: post.created delivered again; pushed once already');
        return;
      }
      await fanOut(post.authorId, { type: 'post', post, traceId }, trace, { traceId, postId: post.id });
    },

    async onPostDeleted({ postId, authorId, traceId }, trace) {
      if (!deleted.firstTime(postId)) {
        logger.info({ traceId, postId }, 'notify: post.deleted delivered again; pushed once already');
        return;
      }
      await fanOut(authorId, { type: 'post.deleted', postId, traceId }, trace, { traceId, postId });
    },
  };
}
