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
import { TRANSPORTS, TransportError, type RoutedTransport } from '@chirp/transport';
import type { PostsConfig } from './config.js';
import { DEFAULT_RELAY_POLICY, EventRelay, type RelayPolicy } from './event-relay.js';
import { PrismaClient } from './generated/prisma/client.js';
import { handLeftovers, sweepOutbox } from './outbox.js';
import { OUTBOX_DONE } from './queries.js';
import { createPostsService, type PostEventHandover } from './service.js';

const MIGRATIONS = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

/** Events the relay gave up on are swept back in once this much older than its give-up: no replica holds them then. */
const SWEEP_MARGIN_MS = 1_000;

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
      held: true,
      publish: async (handover) => {
        await (handover.topic === 'post.created'
          ? publish(transport, posts, handover.topic, handover.event, { parent: handover.trace })
          : publish(transport, posts, handover.topic, handover.event, { parent: handover.trace }));
        // Published (AMQP: confirmed): out of the outbox. Should this fail, the row stays and is
        // published again later (swept back in, or at the next start): a copy, which notify drops.
        await db.sql.query(OUTBOX_DONE, [handover.outboxId]).catch((err: unknown) => {
          logger.warn({ err, outboxId: handover.outboxId }, 'posts event published but left in the outbox');
        });
      },
      describe: ({ topic, event }) => ({
        topic,
        postId: topic === 'post.created' ? event.post.id : event.postId,
        traceId: event.traceId,
      }),
      isPermanent: (err) => err instanceof TransportError && err.code === 'INVALID_ARGUMENT',
      logger,
      ...(relayPolicy && { policy: relayPolicy }),
    });
    let stopSweeping = (): void => {};
    const close = async (): Promise<void> => {
      stopSweeping();
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
      // Events a crash left in the outbox go first, before any new post's.
      const left = await handLeftovers(db.sql, relay, 0);
      if (left > 0) logger.info({ events: left }, 'posts events left in the outbox: publishing them');
      const { giveUpAfterMs } = { ...DEFAULT_RELAY_POLICY, ...relayPolicy };
      stopSweeping = sweepOutbox({
        sql: db.sql,
        relay,
        everyMs: giveUpAfterMs / 2,
        olderThanMs: giveUpAfterMs + SWEEP_MARGIN_MS,
        logger,
      });
      await runtime.serve(handlersFor(posts, service));
      relay.release(subscribersReturnMs(transport));
    } catch (err) {
      await close();
      throw err;
    }
    return {
      drain: () => {
        stopSweeping();
        return relay.close(RELAY_CLOSE_GRACE_MS);
      },
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

/**
 * How long a starting posts holds its events back once it serves: on HTTP, TCP and UDP
 * subscribers register with each publisher process, and one that just started knows none of them
 * until they renew (every third of SUBSCRIPTION_TTL_MS; TCP's also on reconnecting), so events
 * published sooner, the outbox's left-overs first, would reach nobody. Brokers keep the
 * subscriptions: no wait.
 */
function subscribersReturnMs(transport: RoutedTransport): number {
  if (TRANSPORTS[transport.eventsKindOf('posts')].brokered) return 0;
  return Math.ceil(transport.config.subscriptionTtlMs / 3) + SUBSCRIBERS_RETURN_MARGIN_MS;
}

/** A renewal's own round trips (UDP's address check is one more) and timers' slack on a loaded machine. */
const SUBSCRIBERS_RETURN_MARGIN_MS = 1_000;
