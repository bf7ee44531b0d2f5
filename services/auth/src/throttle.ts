/**
 * Slows password guessing and mass sign-up without letting a stranger lock the owner out.
 *
 * Failed log-ins are counted three ways over one window (AUTH_THROTTLE_WINDOW_S):
 *   - per username *and* client address (AUTH_MAX_FAILED_LOGINS, default 5): guessing one
 *     account's password from one place. The owner logging in from elsewhere is not affected.
 *   - per client address across usernames (AUTH_MAX_FAILED_LOGINS_PER_ADDRESS, 20): password
 *     spraying, one common password tried against many accounts.
 *   - per username across addresses (AUTH_MAX_FAILED_LOGINS_PER_USERNAME, 100): a loose backstop
 *     against guessing one account from many addresses; only an attacker with many addresses
 *     can reach it, and then the owner is locked out too (the price of stopping them).
 * Sign-ups are counted per client address (AUTH_MAX_SIGNUPS_PER_ADDRESS per AUTH_SIGNUP_WINDOW_S,
 * default 10 per hour). Over any limit: RESOURCE_EXHAUSTED with retryAfterS (crossing every
 * transport, so the web app answers 429 with Retry-After), before a password is even checked.
 *
 * - The client address is what the web app saw (the contract's clientAddress), counted as its
 *   /64 for IPv6 (client-address.ts). A call without one (a trusted service acting for itself)
 *   is counted per username only, as one unnamed address.
 * - Every log-in counts as a failure from the moment it starts and is forgiven when the password
 *   proves right, so a burst of concurrent guesses cannot all slip past while bcrypt is busy.
 *   A success forgives its username-and-address's failures, but not the address's or the
 *   username's (an attacker's own account must not reset them).
 * - In memory, per process, bounded (sliding-window.ts): enough to stop an online guessing run,
 *   not a substitute for a shared store.
 */
import { DomainError } from '@chirp/contracts';
import { addressKey } from './client-address.js';
import { SlidingWindow } from './sliding-window.js';

export interface LoginLimits {
  /** Failures for one username from one address. */
  perUsernameAndAddress: number;
  /** Failures from one address, whatever the username; 0: no limit. */
  perAddress: number;
  /** Failures for one username, from anywhere; 0: no limit. */
  perUsername: number;
  windowMs: number;
  /** Keys each window may track (see sliding-window.ts). */
  maxTracked?: number;
}

export interface LoginAttempt {
  /** The password was right: this username-and-address's failures are forgotten. */
  succeeded(): void;
  /** The attempt never got to check a password (e.g. the database failed): not held against anyone. */
  abandoned(): void;
}

export class LoginThrottle {
  readonly #pair: SlidingWindow;
  readonly #address: SlidingWindow;
  readonly #username: SlidingWindow;

  constructor(limits: LoginLimits) {
    this.#pair = new SlidingWindow(limits.perUsernameAndAddress, limits.windowMs, limits.maxTracked);
    this.#address = new SlidingWindow(limits.perAddress, limits.windowMs, limits.maxTracked);
    this.#username = new SlidingWindow(limits.perUsername, limits.windowMs, limits.maxTracked);
  }

  /** How many keys the three windows track now (for tests and metrics). */
  get size(): number {
    return this.#pair.size + this.#address.size + this.#username.size;
  }

  /** Throws RESOURCE_EXHAUSTED (with when to retry) if any limit is reached; else counts the attempt. */
  begin(username: string, clientAddress?: string, now = Date.now()): LoginAttempt {
    const name = username.toLowerCase();
    const address = addressKey(clientAddress);
    const pairKey = `${address ?? ''} ${name}`;
    const counted: Array<[SlidingWindow, string, (waitS: number) => string]> = [
      [this.#pair, pairKey, (s) => `too many failed log-ins for ${name}; try again in ${s} s`],
      [this.#username, name, (s) => `too many failed log-ins for ${name} from many addresses; try again in ${s} s`],
    ];
    if (address !== undefined) {
      counted.push([this.#address, address, (s) => `too many failed log-ins from this address; try again in ${s} s`]);
    }
    refuseIfFull(counted, now);
    for (const [window, key] of counted) window.add(key, now);
    return {
      succeeded: () => {
        this.#pair.clear(pairKey);
        for (const [window, key] of counted) if (window !== this.#pair) window.undo(key, now);
      },
      abandoned: () => {
        for (const [window, key] of counted) window.undo(key, now);
      },
    };
  }
}

export interface SignUpAttempt {
  /** It made no account and says nothing about one (an internal failure, or a retry of an earlier sign-up). */
  abandoned(): void;
}

/** Sign-ups per client address: every attempt counts, including one refused as taken (it tells who exists). */
export class SignUpThrottle {
  readonly #address: SlidingWindow;

  constructor(perAddress: number, windowMs: number, maxTracked?: number) {
    this.#address = new SlidingWindow(perAddress, windowMs, maxTracked);
  }

  /** Throws RESOURCE_EXHAUSTED if `clientAddress` signed up too often; without an address there is no limit. */
  begin(clientAddress?: string, now = Date.now()): SignUpAttempt {
    const address = addressKey(clientAddress);
    if (address === undefined) return { abandoned: () => {} };
    refuseIfFull([[this.#address, address, (s) => `too many sign-ups from this address; try again in ${s} s`]], now);
    this.#address.add(address, now);
    return { abandoned: () => this.#address.undo(address, now) };
  }
}

/** The refusal of the window that frees up last, if any is full. */
function refuseIfFull(windows: Array<[SlidingWindow, string, (waitS: number) => string]>, now: number): void {
  let worst: { waitS: number; message: string } | undefined;
  for (const [window, key, message] of windows) {
    const waitS = window.waitS(key, now);
    if (waitS !== undefined && waitS > (worst?.waitS ?? 0)) worst = { waitS, message: message(waitS) };
  }
  if (worst !== undefined) {
    throw new DomainError('RESOURCE_EXHAUSTED', worst.message, { retryAfterS: worst.waitS });
  }
}
