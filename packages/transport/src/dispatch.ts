/**
 * The server side every transport shares: find the handler, respect the deadline, run it,
 * and turn whatever it does into a reply body. Transports only decode the request and
 * send the reply.
 */
import { context as contexts } from '@opentelemetry/api';
import { TransportError, toWireError } from './errors.js';
import type { ReplyBody } from './envelope.js';
import type { Logger } from './logger.js';
import { DeliveryCall, ServerCall, codeOf, type Incoming, type TraceCarrier } from './tracing.js';
import type { CallContext, EventHandler, Handlers, TransportKind } from './transport.js';

/** A request as a transport received it. */
export interface IncomingRequest extends Incoming {
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
}

/**
 * Run the handler for `request` inside its SERVER span (tracing.ts) and say how it went, as the
 * body of the reply to send. Never rejects.
 *
 * The body comes back at once when the handler returns a plain value (or throws), and as a
 * promise only when the handler returns one: a promise per layer (dispatch, the handler's
 * answer, the transport's reply, the in-flight count) and a microtask hop for each was a tenth
 * of a small UDP call's JavaScript time. A transport sends a plain body on the spot.
 */
export function dispatch(
  handlers: Handlers,
  request: IncomingRequest,
  payload: unknown,
  logger: Logger,
): ReplyBody | Promise<ReplyBody> {
  const call = new ServerCall(request);
  const context: CallContext = {
    service: request.service,
    method: request.method,
    traceId: call.traceId,
    trace: call.context,
    deadline: request.deadline,
    transport: request.transport,
  };
  const handler = Object.hasOwn(handlers, context.method) ? handlers[context.method] : undefined;
  if (handler === undefined) {
    const error = new TransportError('UNIMPLEMENTED', `${context.service} has no method ${context.method}`);
    return ended(call, { ok: false, error: error.toJSON() });
  }
  if (Date.now() >= context.deadline) {
    // The caller has given up (the request waited in a queue or a socket buffer too long):
    // doing the work now would only waste it.
    const error = new TransportError(
      'DEADLINE_EXCEEDED',
      `${context.service}.${context.method}: deadline passed before it ran`,
    );
    return ended(call, { ok: false, error: error.toJSON() });
  }
  let result: unknown;
  try {
    result = contexts.with(context.trace, handler, undefined, payload, context);
  } catch (err) {
    return ended(call, failed(err, context, logger));
  }
  if (!isThenable(result)) return ended(call, { ok: true, result });
  // As `await` would: a thenable that is not a native promise is adopted through its `then`.
  return Promise.resolve(result).then(
    (value) => ended(call, { ok: true, result: value }),
    (err: unknown) => ended(call, failed(err, context, logger)),
  );
}

function ended(call: ServerCall, body: ReplyBody): ReplyBody {
  call.end(body.ok ? 'OK' : body.error.code);
  return body;
}

function failed(err: unknown, context: CallContext, logger: Logger): ReplyBody {
  if (!(err instanceof TransportError)) {
    logger.error({ err, traceId: context.traceId, service: context.service, method: context.method }, 'handler failed');
  }
  return { ok: false, error: toWireError(err) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** An event as a subscriber's transport received it. */
export interface IncomingEvent {
  transport: TransportKind;
  /** The publisher. */
  service: string;
  topic: string;
  trace: TraceCarrier | undefined;
}

/**
 * Run an event handler inside the delivery's CONSUMER span; its failure is logged, never thrown
 * into the transport. Resolves whether it succeeded.
 */
export async function deliver(
  handler: EventHandler,
  event: unknown,
  incoming: IncomingEvent,
  logger: Logger,
): Promise<boolean> {
  const delivery = new DeliveryCall(incoming.transport, incoming.service, incoming.topic, incoming.trace);
  const context = {
    service: incoming.service,
    topic: incoming.topic,
    traceId: delivery.traceId,
    trace: delivery.context,
    transport: incoming.transport,
  };
  try {
    await contexts.with(delivery.context, handler, undefined, event, context);
    delivery.end('OK');
    return true;
  } catch (err) {
    logger.error({ err, traceId: context.traceId, topic: context.topic }, 'event handler failed');
    delivery.end(codeOf(err));
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
    this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  /** Count one piece of work in; `leave()` when it is done. For work that may finish synchronously. */
  enter(): void {
    this.#count++;
  }

  leave(): void {
    if (--this.#count === 0) for (const wake of this.#idle.splice(0)) wake();
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

/** A request that reached a port serving another service (TCP, UDP): a misconfigured address. */
export function wrongService(served: string, asked: string): ReplyBody {
  return { ok: false, error: { code: 'UNIMPLEMENTED', message: `this endpoint serves ${served}, not ${asked}` } };
}
