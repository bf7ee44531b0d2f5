/**
 * After the faults, what the service actually kept, read back through it:
 *   lost       — an acknowledged post that `posts.get` does not find (or finds with other
 *                text): the one outcome a write path must never have;
 *   duplicates — more than one stored post for one idempotency key (each post's text carries
 *                its key), read from every author's whole timeline;
 *   stored without acknowledgement — a write the caller gave up on that was stored anyway
 *                (harmless with idempotency keys: the caller's next retry would find it).
 * Read-backs are retried on a retryable error, so a slow answer is not mistaken for a loss.
 */
import type { Client, posts } from '@chirp/contracts';
import { PAGE_SIZE_MAX } from '@chirp/contracts';
import { errorCode } from '../load/run.js';
import type { Author, Write } from './faults-load.js';

export interface Verdict {
  /** Keys of acknowledged writes whose post is gone. */
  lost: Set<string>;
  /** Stored copies beyond the first, by key. */
  duplicates: Map<string, number>;
  /** Keys given up by the caller and stored all the same. */
  storedWithoutAck: Set<string>;
}

const READS_AT_ONCE = 16;
const READ_ATTEMPTS = 5;

export async function verifyWrites(
  postsClient: Client<typeof posts>,
  authors: Author[],
  writes: Write[],
): Promise<Verdict> {
  const lost = new Set<string>();
  const acknowledged = writes.filter((w) => w.postId !== undefined);
  for (let i = 0; i < acknowledged.length; i += READS_AT_ONCE) {
    await Promise.all(
      acknowledged.slice(i, i + READS_AT_ONCE).map(async (w) => {
        const post = await withRetries(() => postsClient.get({ id: w.postId! }).then((r) => r.post, notFound));
        if (post === undefined || post.text !== w.text) lost.add(w.key);
      }),
    );
  }
  const stored = new Map<string, number>();
  for (const author of authors) {
    let cursor: string | undefined;
    do {
      const page = await withRetries(() =>
        postsClient.userTimeline({ userId: author.id, limit: PAGE_SIZE_MAX, ...(cursor ? { cursor } : {}) }),
      );
      for (const post of page.posts) stored.set(post.text, (stored.get(post.text) ?? 0) + 1);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
  const duplicates = new Map<string, number>();
  const storedWithoutAck = new Set<string>();
  for (const w of writes) {
    const copies = stored.get(w.text) ?? 0;
    if (copies > 1) duplicates.set(w.key, copies - 1);
    if (copies > 0 && w.postId === undefined) storedWithoutAck.add(w.key);
  }
  return { lost, duplicates, storedWithoutAck };
}

function notFound(err: unknown): undefined {
  if (errorCode(err) === 'NOT_FOUND') return undefined;
  throw err;
}

async function withRetries<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const code = errorCode(err);
      if (attempt >= READ_ATTEMPTS || (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
