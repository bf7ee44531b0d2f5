/**
 * The server side every transport shares: find the handler, respect the deadline, run it,
 * and turn whatever it does into a reply body. Transports only decode the request and
 * send the reply.
 */
import { TransportError, toWireError } from './errors.js';
import type { ReplyBody } from './envelope.js';
import type { Logger } from './logger.js';
import type { CallContext, EventContext, EventHandler, Handlers } from './transport.js';

export async function dispatch(
  handlers: Handlers,
  context: CallContext,
  payload: unknown,
  logger: Logger,
): Promise<ReplyBody> {
  const handler = Object.hasOwn(handlers, context.method) ? handlers[context.method] : undefined;
  if (handler === undefined) {
    const error = new TransportError('UNIMPLEMENTED', `${context.service} has no method ${context.method}`);
    return { ok: false, error: error.toJSON() };
  }
  if (Date.now() >= context.deadline) {
    // The caller has given up (the request waited in a queue or a socket buffer too long):
    // doing the work now would only waste it.
    const error = new TransportError(
      'DEADLINE_EXCEEDED',
      `${context.service}.${context.method}: deadline passed before it ran`,
    );
    return { ok: false, error: error.toJSON() };
  }
  try {
    const result = await handler(payload, context);
    return { ok: true, result };
  } catch (err) {
    if (!(err instanceof TransportError)) {
      logger.error(
        { err, traceId: context.traceId, service: context.service, method: context.method },
        'handler failed',
      );
    }
    return { ok: false, error: toWireError(err) };
  }
}

/** Run an event handler; its failure is logged, never thrown into the transport. */
export async function deliver(
  handler: EventHandler,
  event: unknown,
  context: EventContext,
  logger: Logger,
): Promise<boolean> {
  try {
    await handler(event, context);
    return true;
  } catch (err) {
    logger.error({ err, traceId: context.traceId, topic: context.topic }, 'event handler failed');
    return false;
  }
}

/**
 * Counts work in progress so a listener can stop taking new work, wait for what it has
 * started to finish, and only then close its sockets (graceful shutdown).
 */
export class InFlight {
  #count = 0;
  #idle: Array<() => void> = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await work();
    } finally {
      if (--this.#count === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Resolves when nothing is in flight, or after `graceMs` whatever remains. */
  drained(graceMs: number): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
