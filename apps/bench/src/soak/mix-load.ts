/**
 * The soak's load: requests drawn from a request source (the social mix) sent at a steady
 * rate for as long as the soak lasts, counted by kind and by outcome. Each reply is handed to
 * `onReply`, so the soak can follow the posts it wrote to their followers' sockets. Past
 * `maxOutstanding` requests in flight, new ones are shed (counted) instead of piling up:
 * a soak measures a steady state, not how far a queue can grow.
 */
import { performance } from 'node:perf_hooks';
import { errorCode, type RequestSource } from '../load/run.js';

export interface MixCounts {
  sent: number;
  ok: number;
  shed: number;
  /** Successful requests by kind. */
  byKind: Record<string, number>;
  /** Failed requests by error code. */
  errors: Record<string, number>;
}

export class MixLoad {
  readonly counts: MixCounts = { sent: 0, ok: 0, shed: 0, byKind: {}, errors: {} };
  readonly #source: RequestSource;
  readonly #rate: number;
  readonly #maxOutstanding: number;
  readonly #onReply: (kind: string, reply: unknown) => void;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    source: RequestSource,
    options: { rate: number; maxOutstanding: number; onReply: (kind: string, reply: unknown) => void },
  ) {
    this.#source = source;
    this.#rate = options.rate;
    this.#maxOutstanding = options.maxOutstanding;
    this.#onReply = options.onReply;
  }

  start(): void {
    const gap = 1000 / this.#rate;
    let next = performance.now();
    const tick = (): void => {
      if (this.#stopped) return;
      for (const now = performance.now(); next <= now; next += gap) this.#send();
      this.#timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  }

  /** Stop sending and wait for the requests in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight);
  }

  #send(): void {
    if (this.#inFlight.size >= this.#maxOutstanding) {
      this.counts.shed++;
      return;
    }
    const { kind, send } = this.#source();
    this.counts.sent++;
    const done = send().then(
      (reply) => {
        this.counts.ok++;
        this.counts.byKind[kind] = (this.counts.byKind[kind] ?? 0) + 1;
        this.#onReply(kind, reply);
      },
      (err: unknown) => {
        const code = errorCode(err);
        this.counts.errors[code] = (this.counts.errors[code] ?? 0) + 1;
      },
    );
    const tracked = done.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }
}
