/**
 * The transactional outbox: post.created and post.deleted are written to the `outbox` table in
 * the same statement as the post's INSERT or DELETE (queries.ts), so an event exists exactly
 * when its change was committed, and a crash of posts after the commit leaves it in the table.
 *
 *   create/delete ─▶ one statement: post row + outbox row ─▶ commit ─▶ hand to the relay
 *   start ─▶ rows still in the outbox (left by a crash) ─▶ hand to the relay, oldest first
 *   relay: publish (AMQP: after the broker's confirm) ─▶ DELETE the outbox row
 *   relay idle ─▶ rows older than its give-up (publishing failed that long) ─▶ hand to it again
 *
 * Promise: at least once, once publishing works again, with no restart needed. A crash between a
 * publish and its row's DELETE publishes the event again at the next start (notify drops the
 * copy by post id). Order: per replica, hand-over order (window 1); events swept back in go after
 * newer ones. Several replicas share one table; a starting replica also re-publishes rows
 * another live replica is about to publish itself (copies, not losses, and out of order only
 * against that replica's events).
 */
import type { Sql } from '@chirp/db';
import { traceCarrierOf, traceContextOf, type Logger } from '@chirp/transport';
import type { Context } from '@opentelemetry/api';
import type { EventRelay } from './event-relay.js';
import { OUTBOX_DONE, OUTBOX_OLDER_THAN } from './queries.js';
import type { PostEventHandover } from './service.js';

/** An outbox row as OUTBOX_OLDER_THAN reads it. */
export interface OutboxRow {
  id: string;
  topic: string;
  payload: unknown;
  traceparent: string | null;
}

/** What the outbox keeps of the writing call's trace: its W3C traceparent. */
export function traceparentOf(context: Context): string | null {
  return traceCarrierOf(context).traceparent ?? null;
}

/** A row left in the outbox, as the relay takes it; undefined for a topic posts does not publish. */
export function handoverOf(row: OutboxRow): PostEventHandover | undefined {
  const base = { outboxId: row.id, trace: traceContextOf({ traceparent: row.traceparent ?? undefined }) };
  if (row.topic === 'post.created')
    return { ...base, topic: row.topic, event: row.payload as PostEventHandoverOf<'post.created'> };
  if (row.topic === 'post.deleted')
    return { ...base, topic: row.topic, event: row.payload as PostEventHandoverOf<'post.deleted'> };
  return undefined;
}

type PostEventHandoverOf<T extends PostEventHandover['topic']> = Extract<PostEventHandover, { topic: T }>['event'];

/** Hand `relay` every event in the outbox older than `olderThanMs`, oldest first; returns how many. */
export async function handLeftovers(
  sql: Sql,
  relay: EventRelay<PostEventHandover>,
  olderThanMs: number,
): Promise<number> {
  const rows = await sql.query<OutboxRow>(OUTBOX_OLDER_THAN, [olderThanMs]);
  for (const row of rows) {
    const handover = handoverOf(row);
    if (handover) relay.hand(handover);
    else await sql.query(OUTBOX_DONE, [row.id]); // a topic posts does not publish (any more)
  }
  return rows.length;
}

/**
 * Every `everyMs` while the relay is idle, hand it again the events it gave up on: still in the
 * outbox `olderThanMs` (its giveUpAfterMs and a margin) after they were written, so neither it nor
 * another replica holds them any more. Returns the stop.
 */
export function sweepOutbox(options: {
  sql: Sql;
  relay: EventRelay<PostEventHandover>;
  everyMs: number;
  olderThanMs: number;
  logger: Logger;
}): () => void {
  const { sql, relay, olderThanMs, logger } = options;
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || relay.stats.pending > 0) return;
    sweeping = true;
    handLeftovers(sql, relay, olderThanMs)
      .then((events) => {
        if (events > 0)
          logger.warn({ events }, 'posts events given up on earlier, found in the outbox: publishing them again');
      })
      .catch((err: unknown) => logger.warn({ err }, 'posts could not read its outbox; trying again later'))
      .finally(() => (sweeping = false));
  }, options.everyMs).unref();
  return () => clearInterval(timer);
}
