import { performance } from 'node:perf_hooks';
import { TransportError } from './errors.js';
import { codeOf } from './tracing.js';

/**
 * Requests sent and not yet answered, keyed by request id. Each entry carries its deadline
 * and removes itself when settled, so a late reply for a timed-out request is simply not
 * found. Shared by every transport that matches replies to requests itself.
 *
 * Why one timer for the whole map rather than one per request: arming and clearing a
 * timer per call was a tenth of a busy TCP client's CPU (and garbage) in the benchmark
 * profiles. The one timer is armed for the earliest deadline; when it fires it rejects
 * every entry past its deadline and re-arms for the next, so no request waits longer than
 * its own timeout (nor is failed sooner). When nothing is pending it is left armed but
 * unreferenced, so an idle process is not kept alive by it, and it is referenced again by the
 * next request: clearing it then arming a new one for every call when calls go one at a time
 * was a timer created and destroyed per call, 1.2 → 0.4 µs per wait and resolve (it fires
 * once, finds nothing, and stops).
 */
export class PendingRequests<Tag = unknown> {
  readonly #entries = new Map<string, Entry<Tag>>();
  /** Called with an entry's tag whenever it settles, however: one function for all, not a closure per request. */
  readonly #settled: ((tag: Tag) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires (performance.now() ms); Infinity when unarmed. */
  #timerAt = Infinity;
  /** Whether #timer keeps the process alive: only while something is pending. */
  #timerRefed = false;

  constructor(settled?: (tag: Tag) => void) {
    this.#settled = settled;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Wait for the reply to `id`; rejects with DEADLINE_EXCEEDED after `timeoutMs`. `call` (the
   * caller's ClientCall) is ended here when the request settles, with its result code: cheaper
   * than a promise chained on the reply for it (ClientCall.track), which costs a promise, two
   * closures and a microtask per call.
   */
  wait(id: string, timeoutMs: number, describe: string, tag: Tag, call?: EndsWithCode): Promise<unknown> {
    const deadline = performance.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      this.#entries.set(id, { resolve, reject, deadline, timeoutMs, describe, tag, call });
      if (deadline < this.#timerAt) this.#arm(deadline);
      else if (!this.#timerRefed) {
        this.#timer!.ref();
        this.#timerRefed = true;
      }
    });
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  resolve(id: string, value: unknown): boolean {
    const entry = this.#take(id);
    if (entry === undefined) return false;
    entry.call?.end('OK');
    entry.resolve(value);
    return true;
  }

  reject(id: string, error: Error): boolean {
    const entry = this.#take(id);
    if (entry === undefined) return false;
    entry.call?.end(codeOf(error));
    entry.reject(error);
    return true;
  }

  /** Reject every request whose tag matches, e.g. those sent on a connection that died. */
  rejectWhere(match: (tag: Tag) => boolean, error: Error): void {
    for (const [id, entry] of this.#entries) {
      if (match(entry.tag)) this.reject(id, error);
    }
  }

  rejectAll(error: Error): void {
    this.rejectWhere(() => true, error);
  }

  #take(id: string): Entry<Tag> | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    if (this.#entries.size === 0 && this.#timerRefed) {
      this.#timer!.unref();
      this.#timerRefed = false;
    }
    this.#settled?.(entry.tag);
    return entry;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#expire, Math.max(1, Math.ceil(at - performance.now())));
    this.#timerRefed = true;
  }

  /** Reject what is past its deadline, then re-arm for the earliest that is not. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#timerRefed = false;
    const now = performance.now();
    let next = Infinity;
    for (const [id, entry] of this.#entries) {
      if (entry.deadline <= now) {
        this.reject(
          id,
          new TransportError('DEADLINE_EXCEEDED', `${entry.describe}: no reply within ${entry.timeoutMs} ms`),
        );
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next < this.#timerAt && this.#entries.size > 0) this.#arm(next);
  };
}

interface Entry<Tag> {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** performance.now() ms after which the request fails with DEADLINE_EXCEEDED. */
  deadline: number;
  timeoutMs: number;
  describe: string;
  tag: Tag;
  call: EndsWithCode | undefined;
}

/** What is told how a request ended: a ClientCall (tracing.ts). */
interface EndsWithCode {
  end(code: string): void;
}
