/**
 * The order every transport closes in, written once (the conformance suite pins it):
 *
 *   1. stop taking work: its listeners stop accepting calls and deliveries, and no new listener
 *      or subscription is made;
 *   2. let the handlers already running finish — their own onward calls and publishes included,
 *      which still go out through this transport's clients;
 *   3. then close the clients: calls still waiting reject with UNAVAILABLE, sockets and
 *      connections close, and every later call fails at once.
 *
 * close() may be called any number of times: later calls wait for the first.
 */
import { TransportError } from './errors.js';

type Stage = 'open' | 'draining' | 'closed';

export class CloseOrder {
  readonly #name: string;
  #stage: Stage = 'open';
  #closing: Promise<void> | undefined;

  /** `name` starts the errors' message: `tcp: transport closed`. */
  constructor(name: string) {
    this.#name = name;
  }

  /** Whether the clients are closed (stage 3): outgoing calls fail from now on. */
  get closed(): boolean {
    return this.#stage === 'closed';
  }

  /** Before a new listener or subscription: refused once closing has begun. */
  assertServing(): void {
    if (this.#stage !== 'open') throw this.error();
  }

  /** Before a call or a publish: allowed while in-flight handlers drain, refused after. */
  assertCalling(): void {
    if (this.#stage === 'closed') throw this.error();
  }

  /** UNAVAILABLE, and not worth retrying: this transport will not open again. */
  error(): TransportError {
    return new TransportError('UNAVAILABLE', `${this.#name}: transport closed`, { retryable: false });
  }

  /** Run the order: `stopServing` resolves once in-flight handlers are done, then `closeClients`. */
  close(stopServing: () => Promise<unknown>, closeClients: () => Promise<unknown>): Promise<void> {
    this.#closing ??= (async () => {
      this.#stage = 'draining';
      try {
        await stopServing();
      } finally {
        this.#stage = 'closed';
        await closeClients();
      }
    })();
    return this.#closing;
  }
}

/** Wait for `promise` (whatever its outcome), but no longer than `ms`: a grace period when closing. */
export function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}
