/**
 * What a served queue and a subscription have in common: a channel of their own (so one
 * consumer's channel error or slow handler never stalls another), a bounded prefetch,
 * messages acked only after their work is done, re-creation after the channel or the
 * connection is lost, and a graceful close that lets started work finish.
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

export interface ConsumerSetup {
  connection: AmqpConnection;
  logger: Logger;
  /** How long close() waits for started work. */
  graceMs: number;
  onClosed: (consumer: QueueConsumer) => void;
}

export type Verdict = 'ack' | 'dead-letter';

export abstract class QueueConsumer implements Standing {
  readonly #connection: AmqpConnection;
  protected readonly logger: Logger;
  readonly #what: string;
  readonly #graceMs: number;
  readonly #onClosed: (consumer: QueueConsumer) => void;
  readonly #inFlight = new InFlight();
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #attaching: Promise<void> | undefined;
  #closed = false;

  protected constructor(setup: ConsumerSetup, what: string) {
    this.#connection = setup.connection;
    this.logger = setup.logger;
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
    void this.#inFlight.run(async () => {
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
    });
  }
}

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
