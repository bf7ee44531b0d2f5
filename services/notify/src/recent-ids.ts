/**
 * The ids of events seen lately, to push an event delivered twice only once. posts publishes
 * from its outbox at least once: a crash after a publish and before its row was deleted
 * publishes the event again at the next start, seconds later. Bounded in count and in age so
 * memory stays flat: a copy arriving after more than `max` newer ids, or after `ttlMs`, is
 * pushed again (a page shows the post once either way: it keys posts by id).
 */
export class RecentIds {
  /** Id → when first seen, in first-seen order (a Map iterates in insertion order). */
  readonly #seen = new Map<string, number>();

  constructor(
    readonly max = 10_000,
    readonly ttlMs = 10 * 60_000,
  ) {}

  /** True the first time `id` is offered (within the bounds), false for a copy. */
  firstTime(id: string, now: number = Date.now()): boolean {
    for (const [oldest, at] of this.#seen) {
      if (this.#seen.size < this.max && now - at < this.ttlMs) break;
      this.#seen.delete(oldest);
    }
    if (this.#seen.has(id)) return false;
    this.#seen.set(id, now);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}
