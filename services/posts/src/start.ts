/**
 * Start the posts service inside a runtime (runService): open its database (applying
 * migrations), build the Prisma client, start the relay of its events, serve the
 * contract's handlers. close() releases the database last, after the runtime has stopped
 * taking work.
 *
 * On stop the runtime calls drain() once the listener has finished its last create, while
 * the transport is still open: the relay has RELAY_CLOSE_GRACE_MS to publish what is
 * pending. close() only repeats it (a no-op then) for a start that failed half-way.
 */
import { fileURLToPath } from 'node:url';
import { handlersFor, posts, publish } from '@chirp/contracts';
import { openDatabase } from '@chirp/db';
import type { Runtime, Started } from '@chirp/service-runtime';
import { TransportError } from '@chirp/transport';
import type { PostsConfig } from './config.js';
import { EventRelay, type RelayPolicy } from './event-relay.js';
import { PrismaClient } from './generated/prisma/client.js';
import { createPostsService, type PostEventHandover } from './service.js';

const MIGRATIONS = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

/** Half of a 10 s `docker stop`: the rest is for the listener's own drain and the database. */
const RELAY_CLOSE_GRACE_MS = 5_000;

/** `relayPolicy` is for tests (shorter backoff and bounds); production uses the defaults. */
export function startPosts(
  config: PostsConfig,
  relayPolicy?: Partial<RelayPolicy>,
): (runtime: Runtime) => Promise<Started> {
  return async (runtime) => {
    const { logger, transport } = runtime;
    const db = await openDatabase(config.database, MIGRATIONS);
    if (db.applied.length > 0) logger.info({ applied: db.applied, database: db.where }, 'migrations applied');
    const prisma = new PrismaClient({ adapter: db.adapter });
    const relay = new EventRelay<PostEventHandover>({
      what: 'posts event',
      publish: (handover) =>
        handover.topic === 'post.created'
          ? publish(transport, posts, handover.topic, handover.event, { parent: handover.trace })
          : publish(transport, posts, handover.topic, handover.event, { parent: handover.trace }),
      describe: ({ topic, event }) => ({
        topic,
        postId: topic === 'post.created' ? event.post.id : event.postId,
        traceId: event.traceId,
      }),
      isPermanent: (err) => err instanceof TransportError && err.code === 'INVALID_ARGUMENT',
      logger,
      ...(relayPolicy && { policy: relayPolicy }),
    });
    const close = async (): Promise<void> => {
      await relay.close(RELAY_CLOSE_GRACE_MS);
      await prisma.$disconnect();
      await db.close();
    };
    try {
      const service = createPostsService({
        prisma,
        sql: db.sql,
        transport,
        events: relay,
        logger,
        homeMaxFollowees: config.homeMaxFollowees,
      });
      await runtime.serve(handlersFor(posts, service));
    } catch (err) {
      await close();
      throw err;
    }
    return {
      drain: () => relay.close(RELAY_CLOSE_GRACE_MS),
      close,
      counters: () => {
        const stats = relay.stats;
        return {
          posts_events_published_total: stats.published,
          posts_events_retried_total: stats.retried,
          posts_events_dropped_total: stats.dropped,
          posts_events_pending: stats.pending,
        };
      },
    };
  };
}
