/**
 * notify's start: open the WebSocket server, subscribe to posts' `post.created` and
 * `post.deleted` and auth's `session.revoked`, and on stop unsubscribe and close every socket
 * with 1001 ("going away"). notify serves no transport methods, so it never calls runtime.serve; its admin port (/healthz, /readyz)
 * comes from the runtime as for every service.
 *
 * Replicas: each replica only knows its own sockets, so every replica must get every
 * event. notify therefore subscribes WITHOUT a group: each replica receives each post
 * and pushes it to the sockets it holds (a group would hand each event to one replica
 * only, and the followers connected to the others would miss it). The cost is that each
 * replica asks follows for the author's followers; the one without open sockets skips that.
 *
 * Start order: if posts or auth is not reachable yet (HTTP, TCP and UDP subscribe by
 * registering with the publisher), notify still starts and keeps trying to subscribe in the
 * background, so services can start in any order.
 *
 * The WebSocket server's bound address (useful with NOTIFY_LISTEN=…:0) is logged and
 * handed to `onListening`, which is how tests find it.
 */
import { auth, client, follows, posts, subscribe } from '@chirp/contracts';
import type { Runtime, Started } from '@chirp/service-runtime';
import type { Logger, RoutedTransport, Subscription } from '@chirp/transport';
import type { NotifyConfig } from './config.js';
import { openGateway } from './gateway.js';
import { createNotifyService } from './service.js';
import { Sessions } from './sessions.js';

const RESUBSCRIBE_FIRST_MS = 500;
const RESUBSCRIBE_MAX_MS = 10_000;

export function startNotify(
  config: NotifyConfig,
  onListening?: (address: string) => void,
): (runtime: Runtime) => Promise<Started> {
  return async (runtime) => {
    const { logger, transport } = runtime;
    const sessions = new Sessions(config.maxBufferedBytes, logger);
    const authClient = client(transport, auth);
    const gateway = await openGateway({
      config,
      sessions,
      verify: async (token) => (await authClient.verify({ token })).user,
      logger,
    });
    const service = createNotifyService({ follows: client(transport, follows), sessions, logger });

    const subscriptions = [
      await keepSubscribing(runtime, 'posts', 'post.created', () =>
        subscribe(transport, posts, 'post.created', (event, context) => service.onPostCreated(event, context.trace)),
      ),
      await keepSubscribing(runtime, 'posts', 'post.deleted', () =>
        subscribe(transport, posts, 'post.deleted', (event, context) => service.onPostDeleted(event, context.trace)),
      ),
      await keepSubscribing(runtime, 'auth', 'session.revoked', () =>
        subscribe(transport, auth, 'session.revoked', (event) => service.onSessionRevoked(event)),
      ),
    ];

    const websocket = `ws://${gateway.address}/ws`;
    logger.info({ websocket }, `notify: WebSocket server listening on ${websocket}`);
    onListening?.(gateway.address);

    return {
      counters: () => ({
        notify_sockets_open: sessions.size,
        notify_connected_total: sessions.stats.connected,
        notify_frames_sent_total: sessions.stats.framesSent,
        notify_dropped_slow_total: sessions.stats.droppedSlow,
        notify_dropped_dead_total: sessions.stats.droppedDead,
        notify_revoked_total: sessions.stats.revoked,
        notify_refused_over_cap_total: sessions.stats.refusedOverCap,
      }),
      async close() {
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
        await gateway.close();
      },
    };
  };
}

/** Subscribe now, or keep trying in the background with backoff until it works or close() is called. */
async function keepSubscribing(
  { logger, transport }: { logger: Logger; transport: Pick<RoutedTransport, 'eventsKindOf'> },
  service: string,
  topic: string,
  trySubscribe: () => Promise<Subscription>,
): Promise<{ close(): Promise<void> }> {
  let subscription: Subscription | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      const sub = await trySubscribe();
      if (stopped) await sub.close();
      else subscription = sub;
      logger.info({ transport: transport.eventsKindOf(service) }, `notify: subscribed to ${topic}`);
    } catch (err) {
      if (stopped) return;
      logger.warn({ err, retryInMs: delayMs }, `notify: cannot subscribe to ${topic} yet; retrying`);
      retry = setTimeout(() => void attempt(Math.min(delayMs * 2, RESUBSCRIBE_MAX_MS)), delayMs);
    }
  };
  await attempt(RESUBSCRIBE_FIRST_MS);
  return {
    async close() {
      stopped = true;
      clearTimeout(retry);
      // The runtime may have closed the transport already; the subscription goes with it.
      await subscription?.close().catch(() => undefined);
    },
  };
}
