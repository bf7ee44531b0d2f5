/**
 * A writer of posts that behaves as a careful client must when servers die under it: every
 * post has its own idempotency key, and a call that failed in a way that may be temporary
 * (UNAVAILABLE, DEADLINE_EXCEEDED) is retried with the SAME key after a jittered backoff, up to
 * a bounded number of attempts. It records what happened to each post, so a test can check
 * the servers' side of the bargain: what was acknowledged is stored, once.
 */
import { randomUUID } from 'node:crypto';
import type { Client, posts } from '@chirp/contracts';
import { TransportError } from '@chirp/transport';
import { sleep } from '@chirp/transport/testing';

export interface WriterOptions {
  count: number;
  concurrency: number;
  /** The deadline of each attempt. */
  timeoutMs: number;
  maxAttempts: number;
  /** Distinguishes this run's texts and authors from any other's. */
  run: string;
  /** Called after every acknowledged post with how many there are so far. */
  onAcknowledged?: (acknowledged: number) => void;
  /** Awaited before post `index` is written: lets a test keep the writes from outrunning its faults. */
  pace?: (index: number) => Promise<void>;
  /** The author of lane `lane`'s posts (a real user, when followers must see them); `${run}-author-${lane}` by default. */
  authorOf?: (lane: number) => string;
}

export interface WriteOutcome {
  key: string;
  authorId: string;
  text: string;
  /** The id the service acknowledged; undefined if every attempt failed. */
  postId?: string;
  attempts: number;
  /** The error of the last attempt, when none succeeded. */
  error?: unknown;
  /** The longest any one attempt took to settle. */
  longestAttemptMs: number;
}

const RETRYABLE = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED']);
const BACKOFF_FIRST_MS = 50;
const BACKOFF_MAX_MS = 1_000;

/** Write `count` posts, `concurrency` at a time (one author per lane); resolves every post's outcome. */
export async function writePosts(client: Client<typeof posts>, options: WriterOptions): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  let next = 0;
  let acknowledged = 0;
  const lane = async (laneNumber: number): Promise<void> => {
    while (next < options.count) {
      const index = next++;
      await options.pace?.(index);
      const key = randomUUID();
      const outcome: WriteOutcome = {
        key,
        authorId: options.authorOf?.(laneNumber) ?? `${options.run}-author-${laneNumber}`,
        text: `post ${index} of ${options.run} (${key})`,
        attempts: 0,
        longestAttemptMs: 0,
      };
      outcomes.push(outcome);
      await writeOne(client, outcome, laneNumber, options);
      if (outcome.postId !== undefined) options.onAcknowledged?.(++acknowledged);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => lane(i)));
  return outcomes;
}

async function writeOne(
  client: Client<typeof posts>,
  outcome: WriteOutcome,
  laneNumber: number,
  options: WriterOptions,
): Promise<void> {
  for (;;) {
    outcome.attempts++;
    const started = Date.now();
    try {
      const { post } = await client.create(
        {
          authorId: outcome.authorId,
          authorUsername: `writer${laneNumber}`,
          text: outcome.text,
          idempotencyKey: outcome.key,
        },
        { timeoutMs: options.timeoutMs },
      );
      outcome.postId = post.id;
      outcome.error = undefined;
      return;
    } catch (err) {
      outcome.error = err;
      const retryable = err instanceof TransportError && RETRYABLE.has(err.code);
      if (!retryable || outcome.attempts >= options.maxAttempts) return;
    } finally {
      outcome.longestAttemptMs = Math.max(outcome.longestAttemptMs, Date.now() - started);
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (outcome.attempts - 1));
    await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
