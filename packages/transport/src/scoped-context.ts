/**
 * The context manager Chirp's services run with: a context is active while the function given to
 * `context.with()` runs synchronously, and no longer once it awaits. What a handler does after an
 * `await` finds its trace because the handler hands it on — `onward(context)` for its calls and
 * publishes, `context.trace` for its SQL — not through the process's current context.
 *
 * Why not OpenTelemetry's AsyncLocalStorage context manager, which finds it without being told:
 * once any AsyncLocalStorage is in use, Node (20) runs its async hooks for every promise the
 * process makes, traced or not, and on a small call that was as much as all the rest of
 * telemetry together (the bench's "AsyncLocalStorage only" mode). The web app, whose route
 * handlers and Next.js do not hand contexts on, keeps the AsyncLocalStorage one
 * (@chirp/telemetry's `asyncContext`).
 */
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

export class ScopedContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const outer = this.#active;
    this.#active = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = outer;
    }
  }

  /** `target` run in `context` whenever it is called (functions only: nothing to scope in an emitter). */
  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const within = (thisArg: unknown, args: unknown[]) => this.with(context, fn, thisArg, ...args);
    return function (this: unknown, ...args: unknown[]) {
      return within(this, args);
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}
