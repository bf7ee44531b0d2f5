/**
 * The transactional outbox: post.created and post.deleted are written to the `outbox` table in
 * the same statement as the post's INSERT or DELETE (queries.ts), so an event exists exactly
 * when its change was committed, and a crash of posts after the commit leaves it in the table.
 *
 *   create/delete ─▶ one statement: post row + outbox row ─▶ commit ─▶ hand to the relay
 *   start ─▶ rows still in the outbox (left by a crash) ─▶ hand to the relay, oldest first
 *   relay: publish (AMQP: after the broker's confirm) ─▶ DELETE the outbox row
 *
 * Promise: at least once. A crash between a publish and its row's DELETE publishes the event
 * again at the next start (notify drops the copy by post id). Order: per replica, hand-over
 * order (window 1). Several replicas share one table; a starting replica also re-publishes rows
 * another live replica is about to publish itself (copies, not losses, and out of order only
 * against that replica's events).
 */
import { traceCarrierOf, traceContextOf } from '@chirp/transport';
import type { Context } from '@opentelemetry/api';
import type { PostEventHandover } from './service.js';

/** An outbox row as OUTBOX_PENDING reads it. */
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
