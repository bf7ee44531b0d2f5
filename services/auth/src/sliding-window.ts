/**
 * Counts events per key over a sliding window, in memory, bounded: the one mechanism under every
 * throttle of auth (throttle.ts). A key is "full" when `limit` of its events are still in the
 * window, and stays so until the oldest of those leaves it.
 *
 * - The map holds only keys with an event still in the window (expired ones are swept on every
 *   call, oldest first, which is cheap because the map is kept in order of each key's last event),
 *   and at most `maxTracked` of those; past that the key whose last event is oldest (the one whose
 *   lock-out would end soonest) is dropped, so flooding with made-up keys cannot exhaust memory.
 * - Per process: a restart forgives, and N replicas allow N times the budget.
 */

export class SlidingWindow {
  /** key → times of its events in the window, oldest first; map order = order of last event. */
  readonly #events = new Map<string, number[]>();

  constructor(
    /** Events a key may have in the window; 0 means no limit (and nothing is tracked). */
    readonly limit: number,
    readonly windowMs: number,
    readonly maxTracked = 100_000,
  ) {}

  /** How many keys are tracked now (for tests and metrics). */
  get size(): number {
    return this.#events.size;
  }

  /** Seconds until `key` may have another event (at least 1), or undefined if it may now. */
  waitS(key: string, now: number): number | undefined {
    if (this.limit === 0) return undefined;
    this.#sweep(now);
    const recent = this.#recent(key, now);
    if (recent.length < this.limit) return undefined;
    const freedAt = recent[recent.length - this.limit]! + this.windowMs;
    return Math.max(1, Math.ceil((freedAt - now) / 1000));
  }

  /** Record an event of `key` at `now`. */
  add(key: string, now: number): void {
    if (this.limit === 0) return;
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#events.delete(key); // re-inserted last: the map stays ordered by last event
    this.#events.set(key, recent);
    while (this.#events.size > this.maxTracked) this.#events.delete(this.#events.keys().next().value!);
  }

  /** Take back the event of `key` recorded at `at` (it turned out not to count). */
  undo(key: string, at: number): void {
    const times = this.#events.get(key);
    const index = times?.lastIndexOf(at) ?? -1;
    if (index >= 0) times!.splice(index, 1);
    if (times?.length === 0) this.#events.delete(key);
  }

  /** Forget every event of `key`. */
  clear(key: string): void {
    this.#events.delete(key);
  }

  #recent(key: string, now: number): number[] {
    return (this.#events.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }

  /** Drop keys whose last event has left the window; stops at the first that has not. */
  #sweep(now: number): void {
    for (const [key, times] of this.#events) {
      if (times.length > 0 && times[times.length - 1]! > now - this.windowMs) return;
      this.#events.delete(key);
    }
  }
}
