/**
 * The UDP server's memory of requests it has seen, so that a retransmitted request runs at
 * most once: the client cannot tell a lost request from a lost reply and sends the same
 * datagram (same id) again, and the network may duplicate datagrams on its own.
 *
 *   unknown key  → run the handler                 (markRunning)
 *   running key  → ignore: its reply is coming      (state 'running')
 *   finished key → send the remembered reply again  (state 'done')
 *
 * A finished entry is only needed while its client may still retransmit, i.e. until the
 * request's deadline (plus a margin for datagrams still in the network). Entries are
 * bounded in count and bytes as well, because the deadline is the client's to choose:
 * the oldest finished replies go first. Running entries are never evicted (that would
 * let a duplicate run the handler twice); they are bounded by the work in flight.
 */

export interface ReplyCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

interface Finished {
  key: string;
  datagram: Buffer;
  expiresAt: number;
}

/** Shared answers: a lookup per request allocates nothing. */
const NEW = { state: 'new' } as const;
const RUNNING = { state: 'running' } as const;

/** Slots at the front of the completion queue that are dropped in one go once this many are used. */
const COMPACT_AFTER = 1024;

export class ReplyCache {
  readonly #running = new Set<string>();
  readonly #done = new Map<string, Finished>();
  /**
   * Finished entries in completion order, oldest at #head, for eviction. Why a queue beside the
   * Map rather than the Map's own insertion order: V8 leaves a deleted Map entry as a hole until
   * the table is rebuilt, and an iterator started afresh walks every hole, so finding "the
   * oldest" after each eviction cost O(entries) per request — a third of a saturated UDP
   * server's JavaScript time once the cache was full (20,000 entries at ~15k calls/s).
   * An entry no longer in #done (pruned, or replaced by a later run of the same key) is skipped.
   */
  #queue: (Finished | undefined)[] = [];
  #head = 0;
  readonly #limits: ReplyCacheLimits;
  #bytes = 0;
  evictions = 0;

  constructor(limits: ReplyCacheLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#done.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** What is known about `key`: unseen, still running, or the reply it got. */
  lookup(key: string, now?: number): { state: 'new' } | { state: 'running' } | { state: 'done'; datagram: Buffer } {
    if (this.#running.has(key)) return RUNNING;
    const done = this.#done.get(key);
    // The clock is only read for a key seen before (a retransmission), not for every request.
    if (done === undefined || done.expiresAt <= (now ?? Date.now())) return NEW;
    return { state: 'done', datagram: done.datagram };
  }

  markRunning(key: string): void {
    this.#running.add(key);
  }

  /** Remember the reply sent for `key` until `expiresAt` (epoch ms). */
  finish(key: string, datagram: Buffer, expiresAt: number): void {
    this.#running.delete(key);
    this.#forget(key);
    const entry: Finished = { key, datagram, expiresAt };
    this.#done.set(key, entry);
    this.#queue.push(entry);
    this.#bytes += datagram.length;
    while (this.#done.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes) {
      const oldest = this.#queue[this.#head]!; // every remembered entry is queued, so one is there
      this.#queue[this.#head++] = undefined; // let it be collected
      if (this.#done.get(oldest.key) !== oldest) continue; // already gone
      this.#remove(oldest);
      this.evictions++;
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Drop what no client can still be retransmitting. */
  prune(now = Date.now()): void {
    for (const entry of this.#done.values()) if (entry.expiresAt <= now) this.#remove(entry);
    // The queue keeps only what is still remembered (deadlines differ, so expiry is not in queue order).
    this.#queue = this.#queue
      .slice(this.#head)
      .filter((entry) => entry !== undefined && this.#done.get(entry.key) === entry);
    this.#head = 0;
  }

  clear(): void {
    this.#running.clear();
    this.#done.clear();
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #forget(key: string): void {
    const entry = this.#done.get(key);
    if (entry !== undefined) this.#remove(entry);
  }

  #remove(entry: Finished): void {
    this.#done.delete(entry.key);
    this.#bytes -= entry.datagram.length;
  }
}
