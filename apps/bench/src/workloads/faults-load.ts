/**
 * The faults workload's load: posts created at a steady rate, each with its own idempotency
 * key, retried with the SAME key when the call fails in a way a retry may cure (UNAVAILABLE,
 * DEADLINE_EXCEEDED), after a backoff with full jitter (as the typed client retries reads:
 * a random pause up to 50 ms, doubling to 1 s, so a crowd of retries does not arrive in step
 * at a service coming back), until it is acknowledged or the retry budget is spent. That is how a careful client writes through a fault: a retry can never make a
 * second post, so every failure can be retried, and what the run measures is the system's
 * own behaviour (a post acknowledged and then lost, a duplicate, how long writes failed).
 *
 * Every attempt is recorded (sent, settled, outcome code) for the error counts and the
 * rate-over-time chart; every write (the logical create) with its key and the post id it was
 * acknowledged with, for the read-back afterwards.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Client, posts } from '@chirp/contracts';
import { errorCode } from '../load/run.js';

export interface Author {
  id: string;
  username: string;
}

export interface CreateLoadOptions {
  /** Creates per second, spread evenly. */
  rate: number;
  /** The deadline of one attempt. */
  attemptTimeoutMs: number;
  /** A write is given up once this long has passed since its first attempt. */
  retryBudgetMs: number;
  /** Writes not yet settled past which new ones are not started (counted as shed). */
  maxOutstanding: number;
}

export interface Attempt {
  /** performance.now() at send and at settle. */
  sentAt: number;
  settledAt: number;
  /** 'OK' or the error's code. */
  outcome: string;
}

export interface Write {
  key: string;
  authorId: string;
  text: string;
  firstSentAt: number;
  attempts: number;
  /** Set when acknowledged. */
  postId?: string;
  ackedAt?: number;
  /** The last error's code when the write was given up (budget spent, or an error no retry can cure). */
  gaveUp?: string;
}

/** Codes after which the same request may succeed (errors.ts marks them retryable). */
const RETRYABLE = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED']);
const BACKOFF_FIRST_MS = 50;
const BACKOFF_MAX_MS = 1_000;

export class CreateLoad {
  readonly attempts: Attempt[] = [];
  readonly writes: Write[] = [];
  /** Writes not started because `maxOutstanding` were in flight. */
  shed = 0;
  readonly #posts: Client<typeof posts>;
  readonly #authors: Author[];
  readonly #options: CreateLoadOptions;
  readonly #runId = randomBytes(4).toString('hex');
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(postsClient: Client<typeof posts>, authors: Author[], options: CreateLoadOptions) {
    this.#posts = postsClient;
    this.#authors = authors;
    this.#options = options;
  }

  /** Start sending; runs until stop(). */
  start(): void {
    const gap = 1000 / this.#options.rate;
    let next = performance.now();
    const tick = (): void => {
      if (this.#stopped) return;
      const now = performance.now();
      for (; next <= now; next += gap) this.#begin();
      this.#timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  }

  /** Stop starting writes, and wait for those in flight to settle (retries included). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #begin(): void {
    if (this.#inFlight.size >= this.#options.maxOutstanding) {
      this.shed++;
      return;
    }
    const n = this.writes.length;
    const author = this.#authors[n % this.#authors.length]!;
    const key = `faults-${this.#runId}-${n}`;
    const write: Write = {
      key,
      authorId: author.id,
      text: `fault drill ${key}`,
      firstSentAt: performance.now(),
      attempts: 0,
    };
    this.writes.push(write);
    const done = this.#write(write, author).finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  async #write(write: Write, author: Author): Promise<void> {
    const { attemptTimeoutMs, retryBudgetMs } = this.#options;
    for (let failures = 0; ; failures++) {
      const sentAt = performance.now();
      write.attempts++;
      try {
        const { post } = await this.#posts.create(
          { authorId: author.id, authorUsername: author.username, text: write.text, idempotencyKey: write.key },
          { timeoutMs: attemptTimeoutMs },
        );
        const settledAt = performance.now();
        this.attempts.push({ sentAt, settledAt, outcome: 'OK' });
        write.postId = post.id;
        write.ackedAt = settledAt;
        return;
      } catch (err) {
        const outcome = errorCode(err);
        const settledAt = performance.now();
        this.attempts.push({ sentAt, settledAt, outcome });
        const pauseMs = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** failures);
        if (!RETRYABLE.has(outcome) || settledAt + pauseMs - write.firstSentAt > retryBudgetMs) {
          write.gaveUp = outcome;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }
}
