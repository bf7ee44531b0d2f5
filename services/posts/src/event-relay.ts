/**
 * An in-process relay between a committed write and the event that announces it: the
 * writer hands the event over and goes on (the publish is not on its latency); the relay
 * publishes in hand-over order and, when a publish fails (broker connection cut, channel
 * closed, not serving yet), tries it again with backoff instead of losing it.
 *
 *   hand(e) ──▶ queue (hand-over order, ≤ maxPending) ──▶ publish, ≤ window in flight
 *                 ▲                                            │ failed
 *                 └──── back in its place, after a backoff ◀───┘ (until giveUpAfterMs)
 *
 * Promise: an event is published if publishing works again within giveUpAfterMs of its
 * hand-over, while the process lives. It is dropped from memory, with an error log line
 * counting the drops, when it is older than that at a failure, when the queue is full (the
 * oldest goes), or when close() finds it still pending after its grace. The queue is memory
 * only; what makes an event durable is the store it came from: posts hands over events already
 * committed to its outbox (outbox.ts), deletes each row in `publish` once it succeeded, and
 * hands over at start whatever a crash or a drop left there.
 *
 * Order: events start in hand-over order and a failed one goes back in front of every
 * later one, so with window 1 a subscriber of an ordered transport (AMQP per queue, TCP
 * per connection) sees them in hand-over order. With a window, later events in flight
 * may land before an earlier one that failed and is retried. A publish that failed after
 * the broker took it (confirm lost with the connection) is published twice: at least once.
 */
import type { Logger } from '@chirp/transport';

export interface RelayPolicy {
  /** Events held (queued or in flight); past this the oldest queued one is dropped. */
  maxPending: number;
  /** The first retry waits about this long, doubling (with jitter) up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** An event that fails this long after its hand-over is dropped. */
  giveUpAfterMs: number;
  /** Publishes in flight at once. */
  window: number;
}

export const DEFAULT_RELAY_POLICY: RelayPolicy = {
  maxPending: 10_000,
  firstRetryMs: 100,
  maxRetryMs: 2_000,
  giveUpAfterMs: 60_000,
  window: 1,
};

export interface RelayStats {
  published: number;
  /** Failed attempts that were tried again. */
  retried: number;
  dropped: number;
  pending: number;
}

export interface EventRelayOptions<E> {
  /** Names the events in log lines, e.g. `post.created`. */
  what: string;
  publish: (event: E) => Promise<void>;
  /** Fields that identify one event in a log line. */
  describe: (event: E) => Record<string, unknown>;
  logger: Logger;
  /** A failure no retry can mend (the event itself is refused): dropped at once. */
  isPermanent?: (err: unknown) => boolean;
  policy?: Partial<RelayPolicy>;
  /** Publish nothing until release() (events queue meanwhile): a starting publisher's subscribers must find it first. */
  held?: boolean;
}

interface Entry<E> {
  seq: number;
  event: E;
  handedAt: number;
}

/** Drops of one kind are summed over this long into one log line, not one line each. */
const DROP_REPORT_MS = 1_000;

export class EventRelay<E> {
  readonly #options: EventRelayOptions<E>;
  readonly #policy: RelayPolicy;
  /** Waiting to be published (first time or again), in hand-over order. */
  readonly #queue: Array<Entry<E>> = [];
  readonly #inFlight = new Set<Entry<E>>();
  readonly #counts = { published: 0, retried: 0, dropped: 0 };
  /** Drops not logged yet, by reason. */
  readonly #unreported = new Map<string, number>();
  #reportTimer: NodeJS.Timeout | undefined;
  #seq = 0;
  #failuresInARow = 0;
  /** While set, nothing is sent: a retry's backoff. */
  #waiting: NodeJS.Timeout | undefined;
  /** Nothing is sent until release() (held). */
  #held: boolean;
  #closed = false;
  #abandoned = false;
  #onIdle: (() => void) | undefined;

  constructor(options: EventRelayOptions<E>) {
    this.#options = options;
    this.#policy = { ...DEFAULT_RELAY_POLICY, ...options.policy };
    this.#held = options.held === true;
  }

  get stats(): RelayStats {
    return { ...this.#counts, pending: this.#queue.length + this.#inFlight.size };
  }

  /** Take `event` for publishing; never throws, never waits. */
  hand(event: E): void {
    if (this.#closed) {
      this.#drop('handed over after close', 1);
      return;
    }
    this.#queue.push({ seq: this.#seq++, event, handedAt: Date.now() });
    if (this.#queue.length + this.#inFlight.size > this.#policy.maxPending) {
      this.#queue.shift();
      this.#drop(`more than ${this.#policy.maxPending} pending, the oldest went`, 1);
    }
    this.#pump();
  }

  /** Start publishing (a held relay), `afterMs` from now. */
  release(afterMs = 0): void {
    setTimeout(() => {
      this.#held = false;
      this.#pump();
    }, afterMs).unref();
  }

  /**
   * Stop taking events and try to publish what is pending for up to `graceMs`; what is
   * still pending then is dropped with one log line naming the count.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    this.#held = false; // what can still be published goes now
    this.#pump();
    if (this.stats.pending > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#onIdle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.#abandoned = true;
    clearTimeout(this.#waiting);
    const left = this.stats.pending;
    this.#queue.length = 0;
    this.#inFlight.clear();
    if (left > 0) this.#drop(`still pending ${graceMs} ms into shutdown`, left);
    this.#report();
  }

  #pump(): void {
    if (this.#held || this.#waiting !== undefined || this.#abandoned) return;
    while (this.#inFlight.size < this.#policy.window) {
      const entry = this.#queue.shift();
      if (entry === undefined) break;
      this.#send(entry);
    }
    if (this.#queue.length === 0 && this.#inFlight.size === 0) this.#onIdle?.();
  }

  #send(entry: Entry<E>): void {
    this.#inFlight.add(entry);
    new Promise<void>((resolve) => resolve(this.#options.publish(entry.event))).then(
      () => {
        if (!this.#inFlight.delete(entry)) return; // abandoned at close
        this.#counts.published++;
        this.#failuresInARow = 0;
        this.#pump();
      },
      (err: unknown) => {
        if (!this.#inFlight.delete(entry)) return;
        this.#failed(entry, err);
      },
    );
  }

  #failed(entry: Entry<E>, err: unknown): void {
    const { giveUpAfterMs } = this.#policy;
    const now = Date.now();
    if (this.#options.isPermanent?.(err) === true) {
      this.#options.logger.error(
        { err, ...this.#options.describe(entry.event) },
        `${this.#options.what} refused by the transport; dropped`,
      );
      this.#drop('refused by the transport', 1);
      this.#pump();
      return;
    }
    if (now - entry.handedAt >= giveUpAfterMs) {
      // Those queued behind it are younger, but the ones as old would fail the same way now.
      let expired = 1;
      while (this.#queue[0] !== undefined && now - this.#queue[0].handedAt >= giveUpAfterMs) {
        this.#queue.shift();
        expired++;
      }
      this.#options.logger.error(
        { err, ...this.#options.describe(entry.event) },
        `${this.#options.what}: publishing still fails ${giveUpAfterMs} ms after hand-over; giving up`,
      );
      this.#drop(`not published within ${giveUpAfterMs} ms`, expired);
    } else {
      this.#counts.retried++;
      let at = 0; // back in front of every later event (in flight ones may be earlier)
      while (at < this.#queue.length && this.#queue[at]!.seq < entry.seq) at++;
      this.#queue.splice(at, 0, entry);
    }
    this.#failuresInARow++;
    if (this.#waiting === undefined && !this.#abandoned) {
      const delayMs = this.#backoffMs();
      this.#options.logger.warn(
        { err, retryInMs: Math.round(delayMs), pending: this.stats.pending, ...this.#options.describe(entry.event) },
        `${this.#options.what} not published; retrying`,
      );
      this.#waiting = setTimeout(() => this.#resume(), delayMs).unref();
    }
  }

  #resume(): void {
    this.#waiting = undefined;
    this.#pump();
  }

  /** Doubling from firstRetryMs to maxRetryMs, each a random point in the upper half. */
  #backoffMs(): number {
    const { firstRetryMs, maxRetryMs } = this.#policy;
    const ceiling = Math.min(maxRetryMs, firstRetryMs * 2 ** (this.#failuresInARow - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #drop(reason: string, count: number): void {
    this.#counts.dropped += count;
    this.#unreported.set(reason, (this.#unreported.get(reason) ?? 0) + count);
    this.#reportTimer ??= setTimeout(() => this.#report(), DROP_REPORT_MS).unref();
  }

  #report(): void {
    clearTimeout(this.#reportTimer);
    this.#reportTimer = undefined;
    for (const [reason, dropped] of this.#unreported) {
      this.#options.logger.error({ dropped, reason }, `${this.#options.what}: ${dropped} events dropped: ${reason}`);
    }
    this.#unreported.clear();
  }
}
