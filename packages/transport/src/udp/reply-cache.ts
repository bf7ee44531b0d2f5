/**
 * The UDP server's memory of requests it has seen, so that a retransmitted request runs at
 * most once: the client cannot tell a lost request from a lost reply and sends the same
 * datagram (same id) again, and the network may duplicate datagrams on its own. A request is
 * known by its sender (address and port) and its id, which is only unique per client.
 *
 *   unknown request  → run the handler                 (markRunning)
 *   running request  → ignore: its reply is coming      (state 'running')
 *   finished request → send the remembered reply again  (state 'done')
 *
 * A finished entry is only needed while its client may still retransmit, i.e. until the
 * request's deadline (plus a margin for datagrams still in the network). Entries are
 * bounded in count and bytes as well, because the deadline is the client's to choose:
 * the oldest finished replies go first. Running entries are never evicted (that would
 * let a duplicate run the handler twice); they are bounded by the work in flight.
 *
 * Why senders by port, then ids per sender, rather than one Map keyed by `address:port|id`:
 * every reply is remembered for about a second under load, so whatever an entry holds outlives
 * the young generation and is copied and promoted by the garbage collector. A joined key is two
 * more such strings per request (the rope and its flattened copy), where the id is one the
 * request brought anyway; a running request is the same Map's entry, not a Set's. What the
 * cache has the collector promote went from ~145 to ~75 bytes per call, and GC pauses by ~1 µs
 * per call (UDP server and client in one process on an in-memory loopback, single-threaded GC,
 * 64 calls at once). Finding the sender by its port (a small integer) rather than by an
 * `address:port` string spares hashing a new string per datagram: the cache's lookups were
 * still a tenth of a busy server's CPU with one.
 */

export interface ReplyCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

/** What one sender's requests are known as, by id: null while running. */
interface Sender {
  address: string;
  port: number;
  ids: Map<string, Finished | null>;
  /** Another sender from the same port (on another host). */
  next: Sender | undefined;
}

interface Finished {
  sender: Sender;
  id: string;
  datagram: Buffer;
  expiresAt: number;
}

/** Shared answers: a lookup per request allocates nothing. */
const NEW = { state: 'new' } as const;
const RUNNING = { state: 'running' } as const;

/** Slots at the front of the completion queue that are dropped in one go once this many are used. */
const COMPACT_AFTER = 1024;

export class ReplyCache {
  /** Senders by port; those sharing a port (from other hosts) are chained through `next`. */
  readonly #senders = new Map<number, Sender>();
  /**
   * Finished entries in completion order, oldest at #head, for eviction. Why a queue beside the
   * Maps rather than a Map's own insertion order: V8 leaves a deleted Map entry as a hole until
   * the table is rebuilt, and an iterator started afresh walks every hole, so finding "the
   * oldest" after each eviction cost O(entries) per request — a third of a saturated UDP
   * server's JavaScript time once the cache was full (20,000 entries at ~15k calls/s).
   * An entry no longer remembered (pruned, or replaced by a later run of the same request) is skipped.
   */
  #queue: (Finished | undefined)[] = [];
  #head = 0;
  readonly #limits: ReplyCacheLimits;
  #size = 0;
  #bytes = 0;
  evictions = 0;

  constructor(limits: ReplyCacheLimits) {
    this.#limits = limits;
  }

  /** Finished replies remembered. */
  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** What is known about request `id` from `address`:`port`: unseen, still running, or the reply it got. */
  lookup(
    address: string,
    port: number,
    id: string,
    now?: number,
  ): { state: 'new' } | { state: 'running' } | { state: 'done'; datagram: Buffer } {
    const known = this.#find(address, port)?.ids.get(id);
    if (known === undefined) return NEW;
    if (known === null) return RUNNING;
    // The clock is only read for a request seen before (a retransmission), not for every request.
    if (known.expiresAt <= (now ?? Date.now())) return NEW;
    return { state: 'done', datagram: known.datagram };
  }

  markRunning(address: string, port: number, id: string): void {
    this.#set(this.#sender(address, port), id, null);
  }

  /** Remember the reply sent for request `id` from `address`:`port` until `expiresAt` (epoch ms). */
  finish(address: string, port: number, id: string, datagram: Buffer, expiresAt: number): void {
    const sender = this.#sender(address, port);
    const entry: Finished = { sender, id, datagram, expiresAt };
    this.#set(sender, id, entry);
    this.#queue.push(entry);
    this.#size++;
    this.#bytes += datagram.length;
    while (this.#size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes) {
      const oldest = this.#queue[this.#head]!; // every remembered entry is queued, so one is there
      this.#queue[this.#head++] = undefined; // let it be collected
      if (oldest.sender.ids.get(oldest.id) !== oldest) continue; // already gone
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
    for (const entry of this.#queue) if (entry !== undefined && entry.expiresAt <= now) this.#remove(entry);
    // The queue keeps only what is still remembered (deadlines differ, so expiry is not in queue order).
    this.#queue = this.#queue.filter((entry) => entry !== undefined && entry.sender.ids.get(entry.id) === entry);
    this.#head = 0;
  }

  clear(): void {
    this.#senders.clear();
    this.#queue = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
  }

  #find(address: string, port: number): Sender | undefined {
    let sender = this.#senders.get(port);
    while (sender !== undefined && sender.address !== address) sender = sender.next;
    return sender;
  }

  #sender(address: string, port: number): Sender {
    let sender = this.#find(address, port);
    if (sender === undefined) {
      sender = { address, port, ids: new Map(), next: this.#senders.get(port) };
      this.#senders.set(port, sender);
    }
    return sender;
  }

  /** What `id` of `sender` now is; a reply it had (expired: this is a new run) is forgotten. */
  #set(sender: Sender, id: string, known: Finished | null): void {
    const previous = sender.ids.get(id);
    sender.ids.set(id, known);
    if (previous) {
      // Still queued, where it is now skipped.
      this.#size--;
      this.#bytes -= previous.datagram.length;
    }
  }

  /** Forget a finished entry, and its sender once nothing of it is left. */
  #remove(entry: Finished): void {
    const { sender } = entry;
    if (sender.ids.get(entry.id) !== entry) return;
    sender.ids.delete(entry.id);
    this.#size--;
    this.#bytes -= entry.datagram.length;
    if (sender.ids.size > 0) return;
    let head = this.#senders.get(sender.port);
    if (head === sender) {
      if (sender.next === undefined) this.#senders.delete(sender.port);
      else this.#senders.set(sender.port, sender.next);
      return;
    }
    while (head !== undefined && head.next !== sender) head = head.next;
    if (head !== undefined) head.next = sender.next;
  }
}
