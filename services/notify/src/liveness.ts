/**
 * Two timers that keep the session list honest.
 *
 * Heartbeat (every heartbeatMs): a socket that has not answered the previous ping is
 * terminated — its browser or network is gone and TCP alone may not notice for many
 * minutes — then every socket is pinged again. So a dead peer is dropped within two
 * heartbeats, and the pings keep idle connections open through proxies.
 *
 * Re-verification (every reverifyMs): a session can end while its socket is open (expiry, or a
 * log-out whose session.revoked event was lost — the event closes them at once otherwise), so
 * each distinct token is verified again and the sockets of those auth no longer knows are
 * closed with 4001 "session ended" (the browser should not reconnect with it).
 * An auth outage is not a verdict: on any other error the sockets stay open until the next
 * round. Tokens are checked a few at a time so thousands of sockets are not one burst on auth.
 */
import type { User } from '@chirp/contracts';
import type { Logger } from '@chirp/transport';
import { isBadSession } from './handshake.js';
import type { Session, Sessions } from './sessions.js';

const REVERIFY_CONCURRENCY = 16;

export interface LivenessDeps {
  sessions: Sessions;
  verify(token: string): Promise<User>;
  logger: Logger;
  heartbeatMs: number;
  reverifyMs: number;
}

export function startLiveness(deps: LivenessDeps): { stop(): void } {
  const { sessions, logger } = deps;
  const heartbeat = setInterval(() => {
    for (const session of sessions.all()) {
      if (!session.alive) {
        sessions.stats.droppedDead++;
        logger.info({ userId: session.user.id }, 'notify: dropped a socket that did not answer the heartbeat');
        sessions.remove(session);
        session.socket.terminate();
        continue;
      }
      session.alive = false;
      session.socket.ping();
    }
    logger.debug({ open: sessions.size, ...sessions.stats }, 'notify: heartbeat');
  }, deps.heartbeatMs);

  let verifying = false;
  const reverify = setInterval(() => {
    if (verifying) return; // the previous round is still waiting on auth
    verifying = true;
    reverifyAll(deps).finally(() => (verifying = false));
  }, deps.reverifyMs);

  heartbeat.unref();
  reverify.unref();
  return {
    stop() {
      clearInterval(heartbeat);
      clearInterval(reverify);
    },
  };
}

async function reverifyAll({ sessions, verify, logger }: LivenessDeps): Promise<void> {
  const byToken = new Map<string, Session[]>();
  for (const session of sessions.all()) {
    const same = byToken.get(session.token);
    if (same === undefined) byToken.set(session.token, [session]);
    else same.push(session);
  }
  const queue = [...byToken];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [token, own] = next;
      try {
        await verify(token);
      } catch (err) {
        if (!isBadSession(err)) {
          logger.warn({ err }, 'notify: cannot re-verify a session; keeping its sockets until the next round');
          continue;
        }
        for (const session of own) sessions.end(session);
        logger.info({ userId: own[0]?.user.id, sockets: own.length }, 'notify: closed the sockets of an ended session');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(REVERIFY_CONCURRENCY, queue.length) }, worker));
}
