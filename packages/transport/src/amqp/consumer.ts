/**
 * What a served queue and a subscription have in common: a channel of their own (so one
 * consumer's channel error or slow handler never stalls another), a bounded prefetch,
 * messages acked only after their work is done, re-creation after the channel or the
 * connection is lost, and a graceful close that lets started work finish.
 *
 * Redelivered messages are handled one at a time. A redelivery means a consumer died holding
 * the message (or lost its channel), and everything it held unacked counts one delivery
 * towards the delivery limit (topology.ts) — the poison message that killed it and the
 * innocent ones beside it alike. Run concurrently again, they would die with it again, until
 * the limit dead-letters them all. Run one at a time, each acked before the next starts, only
 * the poison one dies; and taking them alternately from the back and the front of the batch
 * (by the highest delivery count in it, which grows by one with each crash: odd from the back,
 * even from the front) gets the ones on either side of it done within two crashes. Messages
 * arriving meanwhile wait their turn behind them.
 *
 * On a queue whose redeliveries the consumer counts (a classic request queue: redelivery.ts),
 * each redelivered message in the batch is first counted — republished with its count raised,
 * or dead-lettered past the limit, and acked — after the handlers already running are done
 * (within the grace period) and before any other starts, so no handler of ours can kill the
 * process between the copy and the ack. The copies come back carrying their count (here, or
 * to another replica) and are what gets handled, one at a time like any redelivery, since a
 * copy is a message that has killed a consumer before.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { InFlight } from '../dispatch.js';
import type { Logger } from '../logger.js';
import { closeQuietly, logChannelErrors, type AmqpConnection, type Standing } from './connection.js';
import { within } from '../close-order.js';
import { countedRedeliveries, type Recounted, type RedeliveryCounter } from './redelivery.js';

/**
 * Unacked messages one consumer holds at once. Bounds the work (and memory) a replica takes
 * on, and leaves the rest in the queue for other replicas; high enough that a round trip to
 * the broker per message does not limit throughput.
 */
export const PREFETCH = 64;

/** After a first redelivered message (or counting a batch of them), how long to wait for the rest of the batch before picking. */
const REDELIVERED_GATHER_MS = 20;

/** A redelivery the broker would not take the counted copy of goes back to the queue after this, not at once. */
const RECOUNT_RETRY_MS = 1_000;

export interface ConsumerSetup {
  connection: AmqpConnection;
  logger: Logger;
  /** How long close() waits for started work. */
  graceMs: number;
  /** Bodies over this are dead-lettered unread. */
  maxMessageBytes: number;
  onClosed: (consumer: QueueConsumer) => void;
}

export type Verdict = 'ack' | 'dead-letter';

export abstract class QueueConsumer implements Standing {
  readonly #connection: AmqpConnection;
  protected readonly logger: Logger;
  protected readonly maxMessageBytes: number;
  readonly #what: string;
  readonly #graceMs: number;
  readonly #onClosed: (consumer: QueueConsumer) => void;
  readonly #inFlight = new InFlight();
  /** Present when this consumer counts its queue's redeliveries (the broker does not). */
  readonly #counter: RedeliveryCounter | undefined;
  #queue: string | undefined;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #attaching: Promise<void> | undefined;
  #closed = false;
  /** Redelivered messages (and those that came after them) waiting to be handled one at a time. */
  #oneAtATime: Held[] = [];
  #drainingOneAtATime = false;

  protected constructor(setup: ConsumerSetup, what: string, counter?: RedeliveryCounter) {
    this.#connection = setup.connection;
    this.#counter = counter;
    this.logger = setup.logger;
    this.maxMessageBytes = setup.maxMessageBytes;
    this.#graceMs = setup.graceMs;
    this.#onClosed = setup.onClosed;
    this.#what = what;
  }

  /** Declare what this consumer reads from; returns the queue's name. */
  protected abstract declare(channel: Channel): Promise<string>;

  /**
   * Do the work for one message and say what becomes of it: acked (done), or rejected
   * without requeue, which dead-letters it rather than redelivering it forever.
   */
  protected abstract handle(channel: Channel, message: ConsumeMessage): Promise<Verdict>;

  /** A message this consumer counted past the delivery limit was dead-lettered (its handler never runs again). */
  protected onDeliveryLimit(_channel: Channel, _message: ConsumeMessage): void {}

  attach(model: ChannelModel): Promise<void> {
    if (this.#closed || this.#channel !== undefined) return Promise.resolve();
    this.#attaching ??= this.#open(model).finally(() => {
      this.#attaching = undefined;
    });
    return this.#attaching;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.release(this);
    this.#onClosed(this);
    await this.#attaching?.catch(() => {});
    const channel = this.#channel;
    // Stop taking messages, finish those started (their replies go out on this channel),
    // then close: whatever is still unacked goes back to the queue for another consumer.
    if (channel !== undefined && this.#consumerTag !== undefined) {
      // Bounded: on a connection that died unnoticed the cancel would wait for a heartbeat timeout.
      await within(channel.cancel(this.#consumerTag), this.#graceMs);
    }
    await this.#inFlight.drained(this.#graceMs);
    this.#channel = undefined;
    if (channel !== undefined) await closeQuietly(channel);
    await this.#counter?.close();
  }

  async #open(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    logChannelErrors(channel, this.logger, this.#what);
    channel.on('close', () => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#connection.restore(this);
    });
    let consumerTag: string;
    let queue: string;
    try {
      queue = await this.declare(channel);
      await channel.prefetch(PREFETCH);
      ({ consumerTag } = await channel.consume(queue, (message) => this.#onMessage(channel, message), {
        noAck: false,
      }));
    } catch (err) {
      await closeQuietly(channel);
      throw err;
    }
    if (this.#closed) {
      await closeQuietly(channel);
      return;
    }
    this.#queue = queue;
    this.#channel = channel;
    this.#consumerTag = consumerTag;
  }

  #onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): start over, re-declaring it.
      this.logger.warn({ consumer: this.#what }, 'amqp: consumer cancelled by the broker; re-creating it');
      void closeQuietly(channel);
      return;
    }
    if (this.#suspect(message) || this.#oneAtATime.length > 0 || this.#drainingOneAtATime) {
      this.#oneAtATime.push({ channel, message });
      void this.#drainOneAtATime();
      return;
    }
    void this.#inFlight.run(() => this.#settle(channel, message));
  }

  async #drainOneAtATime(): Promise<void> {
    if (this.#drainingOneAtATime) return;
    this.#drainingOneAtATime = true;
    try {
      await sleep(REDELIVERED_GATHER_MS);
      await this.#inFlight.drained(this.#graceMs);
      while (this.#oneAtATime.length > 0 && !this.#closed) {
        if (await this.#countRedeliveries()) continue;
        const { channel, message } = takeNext(this.#oneAtATime, (m) => this.#deliveries(m));
        // One whose channel is gone is back in the queue already.
        if (channel !== this.#channel) continue;
        await this.#inFlight.run(() => this.#settle(channel, message));
        // amqplib hands frames to the socket from a setImmediate it schedules after the ack:
        // a timer runs after that, so the ack is on the wire before the next message — which
        // may be the one that kills us — starts.
        await sleep(0);
      }
    } finally {
      this.#drainingOneAtATime = false;
    }
  }

  /** Whether `message` has killed a consumer before, as far as this consumer can tell. */
  #suspect(message: ConsumeMessage): boolean {
    return message.fields.redelivered || (this.#counter !== undefined && countedRedeliveries(message) > 0);
  }

  /** Deliveries of `message` so far that were not settled: the broker's count, or ours with this one. */
  #deliveries(message: ConsumeMessage): number {
    if (this.#counter === undefined) return Number(message.properties.headers?.['x-delivery-count'] ?? 0);
    return countedRedeliveries(message) + (message.fields.redelivered ? 1 : 0);
  }

  /**
   * Count every redelivery waiting in the batch (see the header), together: they are only
   * publishes, and nothing else of ours runs meanwhile. Then give their copies time to come
   * back and join the batch. Returns whether there were any.
   */
  async #countRedeliveries(): Promise<boolean> {
    if (this.#counter === undefined) return false;
    const redelivered = this.#oneAtATime.filter((held) => held.message.fields.redelivered);
    if (redelivered.length === 0) return false;
    this.#oneAtATime = this.#oneAtATime.filter((held) => !held.message.fields.redelivered);
    await Promise.all(redelivered.map((held) => this.#inFlight.run(() => this.#recount(this.#counter!, held))));
    await sleep(REDELIVERED_GATHER_MS);
    return true;
  }

  async #recount(counter: RedeliveryCounter, { channel, message }: Held): Promise<void> {
    // One whose channel is gone is back in the queue already, to be counted when it comes round.
    if (channel !== this.#channel || this.#queue === undefined) return;
    let outcome: Recounted;
    try {
      outcome = await counter.recount(this.#queue, message);
    } catch (err) {
      this.logger.warn({ err, consumer: this.#what }, 'amqp: could not count a redelivery; requeueing it');
      await sleep(RECOUNT_RETRY_MS);
      try {
        channel.nack(message, false, true);
      } catch {
        // The channel closed meanwhile: the broker requeued it already.
      }
      return;
    }
    try {
      channel.ack(message);
    } catch {
      // The channel closed meanwhile: the original comes back too (see redelivery.ts on duplicates).
    }
    if (outcome === 'dead-lettered') {
      this.logger.warn(
        { consumer: this.#what, queue: this.#queue, type: message.properties.type as unknown },
        'amqp: message dead-lettered: every consumer that took it died before settling it (delivery limit)',
      );
      this.onDeliveryLimit(channel, message);
    }
  }

  async #settle(channel: Channel, message: ConsumeMessage): Promise<void> {
    let verdict: Verdict;
    try {
      verdict = await this.handle(channel, message);
    } catch (err) {
      this.logger.error({ err, consumer: this.#what }, 'amqp: message handling failed');
      verdict = 'dead-letter';
    }
    try {
      if (verdict === 'ack') channel.ack(message);
      else channel.nack(message, false, false);
    } catch {
      // The channel closed meanwhile: the broker requeues the message for another consumer.
    }
  }
}

interface Held {
  channel: Channel;
  message: ConsumeMessage;
}

/** From the back of a redelivered batch when its highest delivery count is odd, else from the front (see the header). */
function takeNext(batch: Held[], deliveries: (message: ConsumeMessage) => number): Held {
  const most = Math.max(...batch.map((held) => deliveries(held.message)));
  return (most % 2 === 1 ? batch.pop() : batch.shift())!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
