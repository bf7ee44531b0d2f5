/**
 * Slows password guessing: after `maxFailures` failed log-ins for one username within
 * `windowMs`, further attempts are refused with RESOURCE_EXHAUSTED until the oldest of
 * those failures leaves the window. The error says how long, in words for logs ("try again in
 * N s") and as its retryAfterS, which crosses every transport, so the web app can send Retry-After.
 *
 * - Every attempt counts as a failure from the moment it starts and is forgiven when the
 *   password proves right, so a burst of concurrent guesses cannot all slip past the check
 *   while bcrypt is busy with the first ones.
 * - Kept in memory, per process: a restart forgives, and N replicas allow N times the
 *   budget — enough to stop an online guessing run, not a substitute for a shared store.
 * - Bounded: the map holds only usernames with a failure still in the window (expired ones
 *   are swept on every call, oldest first, which is cheap because the map is kept in order
 *   of last failure), and at most `maxTracked` of those; past that the one whose lock-out
 *   would end soonest is dropped, so flooding with made-up usernames cannot exhaust memory.
 */
import { TransportError } from '@chirp/transport';

export interface LoginAttempt {
  /** The password was right: the username's failures are forgotten. */
  succeeded(): void;
  /** The attempt never got to check a password (e.g. the database failed): not held against the user. */
  abandoned(): void;
}

export class LoginThrottle {
  /** username → times of its failures in the window, oldest first; map order = order of last failure. */
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
    readonly maxTracked = 100_000,
  ) {}

  /** How many usernames are tracked now (for tests and metrics). */
  get size(): number {
    return this.#failures.size;
  }

  /** Throws RESOURCE_EXHAUSTED (with when to retry) if `username` is locked out; else counts the attempt. */
  begin(username: string, now = Date.now()): LoginAttempt {
    this.#sweep(now);
    const key = username.toLowerCase();
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length >= this.maxFailures) {
      const freedAt = recent[recent.length - this.maxFailures]! + this.windowMs;
      const retryAfterS = Math.max(1, Math.ceil((freedAt - now) / 1000));
      throw new TransportError(
        'RESOURCE_EXHAUSTED',
        `too many failed log-ins for ${key}; try again in ${retryAfterS} s`,
        { retryAfterS },
      );
    }
    recent.push(now);
    this.#failures.delete(key); // re-inserted last: the map stays ordered by last failure
    this.#failures.set(key, recent);
    while (this.#failures.size > this.maxTracked) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
    return {
      succeeded: () => void this.#failures.delete(key),
      abandoned: () => {
        const times = this.#failures.get(key);
        const at = times?.lastIndexOf(now) ?? -1;
        if (at >= 0) times!.splice(at, 1);
        if (times?.length === 0) this.#failures.delete(key);
      },
    };
  }

  /** Drop usernames whose last failure has left the window; stops at the first that has not. */
  #sweep(now: number): void {
    for (const [key, times] of this.#failures) {
      if (times.length > 0 && times[times.length - 1]! > now - this.windowMs) return;
      this.#failures.delete(key);
    }
  }
}
