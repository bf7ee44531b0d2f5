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
 * (by the delivery count: odd from the back, even from the front) gets the ones on either side
 * of it done within two crashes. Messages arriving meanwhile wait their turn behind them.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { InFlight } from '../dispatch.js';
import type { Logger } from '../logger.js';
import { closeQuietly, logChannelErrors, type AmqpConnection, type Standing } from './connection.js';

/**
 * Unacked messages one consumer holds at once. Bounds the work (and memory) a replica takes
 * on, and leaves the rest in the queue for other replicas; high enough that a round trip to
 * the broker per message does not limit throughput.
 */
export const PREFETCH = 64;

/** After a first redelivered message, how long to wait for the rest of the batch before picking. */
const REDELIVERED_GATHER_MS = 20;

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
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #attaching: Promise<void> | undefined;
  #closed = false;
  /** Redelivered messages (and those that came after them) waiting to be handled one at a time. */
  #oneAtATime: Held[] = [];
  #drainingOneAtATime = false;

  protected constructor(setup: ConsumerSetup, what: string) {
    this.#connection = setup.connection;
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
    try {
      const queue = await this.declare(channel);
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
    if (message.fields.redelivered || this.#oneAtATime.length > 0 || this.#drainingOneAtATime) {
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
        const { channel, message } = takeNext(this.#oneAtATime);
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

/** From the back of a redelivered batch when its delivery count is odd, else from the front (see the header). */
function takeNext(batch: Held[]): Held {
  const deliveries = Number(batch[0]!.message.properties.headers?.['x-delivery-count'] ?? 0);
  return (deliveries % 2 === 1 ? batch.pop() : batch.shift())!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait for `promise` (whatever its outcome), but no longer than `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}
