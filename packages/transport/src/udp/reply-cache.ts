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
  datagram: Buffer;
  expiresAt: number;
}

/** Shared answers: a lookup per request allocates nothing. */
const NEW = { state: 'new' } as const;
const RUNNING = { state: 'running' } as const;

export class ReplyCache {
  readonly #running = new Set<string>();
  /** Insertion order is completion order, so the first entries are the oldest. */
  readonly #done = new Map<string, Finished>();
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
    this.#done.set(key, { datagram, expiresAt });
    this.#bytes += datagram.length;
    if (this.#done.size <= this.#limits.maxEntries && this.#bytes <= this.#limits.maxBytes) return;
    for (const [oldest] of this.#done) {
      if (this.#done.size <= this.#limits.maxEntries && this.#bytes <= this.#limits.maxBytes) break;
      this.#forget(oldest);
      this.evictions++;
    }
  }

  /** Drop what no client can still be retransmitting. */
  prune(now = Date.now()): void {
    for (const [key, entry] of this.#done) if (entry.expiresAt <= now) this.#forget(key);
  }

  clear(): void {
    this.#running.clear();
    this.#done.clear();
    this.#bytes = 0;
  }

  #forget(key: string): void {
    const entry = this.#done.get(key);
    if (entry === undefined) return;
    this.#done.delete(key);
    this.#bytes -= entry.datagram.length;
  }
}
