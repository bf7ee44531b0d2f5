/**
 * Calls waiting for a broker connection (AMQP's, NATS's), each until its own deadline: the
 * connection parks them while it (re)connects and settles them all once it knows how that went.
 */
interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waiters<T> {
  readonly #waiting = new Set<Waiter<T>>();

  /** Until resolve() or reject(), or `timedOut()` (made then, to say the latest state) at `deadline`. */
  wait(deadline: number, timedOut: () => Error): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(
          () => {
            this.#waiting.delete(waiter);
            reject(timedOut());
          },
          Math.max(0, deadline - Date.now()),
        ),
      };
      this.#waiting.add(waiter);
    });
  }

  resolve(value: T): void {
    for (const waiter of this.#take()) waiter.resolve(value);
  }

  reject(error: Error): void {
    for (const waiter of this.#take()) waiter.reject(error);
  }

  #take(): Waiter<T>[] {
    const all = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of all) clearTimeout(waiter.timer);
    return all;
  }
}
