/**
 * Counting redeliveries on a classic queue, which only flags a message `redelivered` and keeps
 * no count (quorum queues count, but write every message to their log: see topology.ts). The
 * count travels in the message, so it survives the death of the consumer that held it:
 *
 *   delivery n    handler runs, consumer dies unacked → the broker requeues it, `redelivered`
 *   redelivery    header x-chirp-redeliveries = r (absent: 0). Before any handler runs, the
 *                 consumer publishes a copy to the same queue with r + 1, waits for the
 *                 broker's confirm, then acks the original: the copy is what gets handled.
 *                 Past DELIVERY_LIMIT the copy goes to the dead-letter exchange instead,
 *                 with x-chirp-death-reason: delivery_limit and x-chirp-death-queue.
 *
 * So a message is handled at most DELIVERY_LIMIT + 1 times, as on a quorum queue with
 * x-delivery-limit. The cost is a publish and a confirm per redelivery, nothing per call.
 *
 * Edge cases, and why they are acceptable:
 * - Dying between the confirm and the ack leaves both the copy and the original: the original
 *   is redelivered with the old count, so the message exists twice and may be handled twice.
 *   That is at-least-once, which a consumer dying mid-handler already means for a request
 *   (the caller keeps the first reply; a second one finds no pending call and is dropped).
 *   A duplicated poison message is counted per copy, so it may take down a few more consumers
 *   before both copies are dead-lettered. The window is one round trip, and the consumer only
 *   counts while none of its own handlers run (consumer.ts), so it takes an outside kill or a
 *   lost connection to hit it. A
 *   transaction (publish + ack committed together) would close it, but must be on the
 *   consuming channel, which would then need a commit for every call's ack.
 * - The deadline survives: the copy's expiration is what is left of it (deadlineOf) and its
 *   timestamp the moment of copying, so its server computes the same deadline and the broker
 *   still drops it when the caller stops waiting. Only when the caller's clock is implausible
 *   does a copy get the whole timeout again (at most DELIVERY_LIMIT times); the caller still
 *   gives up at its own deadline.
 * - Order: the copy joins the back of the queue, behind requests sent after it. No order is
 *   kept through a consumer's death anyway: redelivered requests are handled one at a time in
 *   an order chosen to spare their neighbours (consumer.ts).
 * - A dead letter we publish carries no expiration (the broker strips it too): it must not
 *   expire out of the dead-letter queue.
 * - A copy the broker cannot confirm (connection lost, broker blocked) is not acked: the
 *   original goes back to the queue, after a pause so a broker that keeps refusing is not
 *   asked in a tight loop.
 */
import type { ConfirmChannel, Message, MessagePropertyHeaders, Options } from 'amqplib';
import { TransportError, unavailable } from '../errors.js';
import { LazyChannel, type AmqpConnection } from './connection.js';
import { DELIVERY_LIMIT, deadlineOf, timeoutOf } from './topology.js';

/** Redeliveries counted so far: 0 (or absent) on a first delivery. */
export const HEADER_REDELIVERIES = 'x-chirp-redeliveries';
/** On a dead letter we published: why (delivery_limit) and from which queue, like the broker's x-first-death-*. */
export const HEADER_DEATH_REASON = 'x-chirp-death-reason';
export const HEADER_DEATH_QUEUE = 'x-chirp-death-queue';

/** How long a copy may take to be confirmed before the original is requeued instead. */
const CONFIRM_TIMEOUT_MS = 5_000;

export type Recounted = 'requeued' | 'dead-lettered';

/** Redeliveries counted in `message` so far (its own, if it is one, not yet). */
export function countedRedeliveries(message: Message): number {
  const count = message.properties.headers?.[HEADER_REDELIVERIES] as unknown;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}

export class RedeliveryCounter {
  readonly #deadLetterExchange: string;
  /** Its own confirm channel, opened on the first redelivery: the consuming channel stays unconfirmed, so replies cost no confirm. */
  readonly #channel: LazyChannel<ConfirmChannel>;

  constructor(connection: AmqpConnection, deadLetterExchange: string) {
    this.#deadLetterExchange = deadLetterExchange;
    this.#channel = new LazyChannel(connection, (model) => model.createConfirmChannel());
  }

  /**
   * Count one redelivery of `message`, taken from `queue`: its copy, counted, is back in the
   * queue or in the dead-letter exchange once this resolves, and the caller must then ack the
   * original. Rejects (UNAVAILABLE, DEADLINE_EXCEEDED) when the broker did not confirm the copy.
   */
  async recount(queue: string, message: Message, now = Date.now()): Promise<Recounted> {
    const redeliveries = countedRedeliveries(message) + 1;
    const headers: MessagePropertyHeaders = { ...message.properties.headers, [HEADER_REDELIVERIES]: redeliveries };
    if (redeliveries > DELIVERY_LIMIT) {
      headers[HEADER_DEATH_REASON] = 'delivery_limit';
      headers[HEADER_DEATH_QUEUE] = queue;
      await this.#publish(this.#deadLetterExchange, queue, message, { headers, expiration: undefined });
      return 'dead-lettered';
    }
    await this.#publish('', queue, message, { headers, ...remainingDeadline(message, now) });
    return 'requeued';
  }

  close(): Promise<void> {
    return this.#channel.close();
  }

  async #publish(
    exchange: string,
    routingKey: string,
    message: Message,
    changed: Pick<Options.Publish, 'headers' | 'expiration' | 'timestamp'>,
  ): Promise<void> {
    const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
    const channel = await this.#channel.get(deadline);
    // Every property as it came (correlationId, replyTo, type, trace context in the headers…),
    // still transient: a copy is no more durable than the request it stands for.
    const options: Options.Publish = { ...(message.properties as Options.Publish), ...changed };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TransportError('DEADLINE_EXCEEDED', 'amqp: the broker did not confirm a counted redelivery')),
        Math.max(1, deadline - Date.now()),
      );
      try {
        channel.publish(exchange, routingKey, message.content, options, (err: unknown) => {
          clearTimeout(timer);
          if (err) reject(unavailable('amqp: the broker refused a counted redelivery', err));
          else resolve();
        });
      } catch (err) {
        clearTimeout(timer);
        reject(unavailable('amqp: could not publish a counted redelivery', err));
      }
    });
  }
}

/**
 * The copy's deadline: what is left of the request's, in whole ms (the broker refuses a
 * fractional expiration), from now. A message that is not a request (no timeout in its
 * expiration) keeps its own.
 */
export function remainingDeadline(message: Message, now: number): Pick<Options.Publish, 'expiration' | 'timestamp'> {
  const { expiration, timestamp } = message.properties as { expiration?: unknown; timestamp?: unknown };
  const timeoutMs = timeoutOf(expiration);
  if (timeoutMs === undefined) return {};
  const deadline = deadlineOf({ timeoutMs, sentAt: typeof timestamp === 'number' ? timestamp : undefined }, now);
  return { expiration: String(Math.max(1, Math.ceil(deadline - now))), timestamp: now };
}
