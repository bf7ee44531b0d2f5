/**
 * The typed client and server for a contract, over any Transport. The server validates
 * every request against the contract before the implementation sees it — the same check
 * whatever transport carried it — so an implementation only ever gets well-formed input.
 * Subscribers validate events the same way.
 */
import type { Static } from '@sinclair/typebox';
import { context } from '@opentelemetry/api';
import { DEFAULT_TRANSPORT_CONFIG, TransportError } from '@chirp/transport';
import type {
  CallContext,
  EventContext,
  Handlers,
  Listener,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '@chirp/transport';
import type { ServiceContract } from './define.js';
import { assertValid } from './validate.js';

export type Client<C extends ServiceContract> = {
  [M in keyof C['methods'] & string]: (
    request: Static<C['methods'][M]['request']>,
    options?: RequestOptions,
  ) => Promise<Static<C['methods'][M]['reply']>>;
};

export type Implementation<C extends ServiceContract> = {
  [M in keyof C['methods'] & string]: (
    request: Static<C['methods'][M]['request']>,
    context: CallContext,
  ) => Static<C['methods'][M]['reply']> | Promise<Static<C['methods'][M]['reply']>>;
};

/**
 * `client(transport, posts).create({...})`: a typed call of posts.create.
 *
 * A method the contract marks idempotent is retried when it fails with UNAVAILABLE (nobody
 * answered: a server restarting, a connection lost), after a backoff with full jitter, for as
 * long as the call's deadline allows; every attempt is in the same trace and has only the time
 * that is left. Other failures, and other methods, reach the caller at once: for a write that
 * is not idempotent by nature, retrying is the caller's decision (with an idempotency key).
 */
export function client<C extends ServiceContract>(
  transport: Pick<Transport, 'request'> & { readonly config?: { defaultTimeoutMs: number } },
  contract: C,
  defaults: RequestOptions = {},
): Client<C> {
  const methods = {} as Record<string, (request: unknown, options?: RequestOptions) => Promise<unknown>>;
  for (const [method, spec] of Object.entries(contract.methods)) {
    const call = (request: unknown, options: RequestOptions) =>
      transport.request(contract.name, method, request, options);
    methods[method] = (request, options) => {
      const merged = { ...defaults, ...options };
      if (spec.idempotent !== true) return call(request, merged);
      const timeoutMs =
        merged.timeoutMs ?? transport.config?.defaultTimeoutMs ?? DEFAULT_TRANSPORT_CONFIG.defaultTimeoutMs;
      // Every attempt a child of the same span: one trace shows each try.
      const everyAttempt = { ...merged, parent: merged.parent ?? context.active() };
      const deadline = Date.now() + timeoutMs;
      // No new attempt in the last tenth of the time: a service retrying a call for its own
      // caller must fail back before that caller's deadline, not at the same moment.
      const retryUntil = deadline - timeoutMs / 10;
      return retried((remainingMs) => call(request, { ...everyAttempt, timeoutMs: remainingMs }), deadline, retryUntil);
    };
  }
  return methods as Client<C>;
}

const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

/** Attempts until one succeeds, fails other than UNAVAILABLE, or the next would start past `retryUntil`. */
async function retried(
  attempt: (remainingMs: number) => Promise<unknown>,
  deadline: number,
  retryUntil: number,
): Promise<unknown> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt(Math.max(1, deadline - Date.now()));
    } catch (err) {
      const pauseMs = Math.random() * Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** failures);
      const unavailable = err instanceof TransportError && err.code === 'UNAVAILABLE';
      if (!unavailable || Date.now() + pauseMs >= retryUntil) throw err;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/** The transport handlers for an implementation: input checked against the contract first. */
export function handlersFor<C extends ServiceContract>(contract: C, implementation: Implementation<C>): Handlers {
  const handlers: Record<string, Handlers[string]> = {};
  for (const [method, spec] of Object.entries(contract.methods)) {
    const implement = implementation[method as keyof Implementation<C>] as
      ((r: unknown, c: CallContext) => unknown) | undefined;
    if (typeof implement !== 'function') continue; // callers get UNIMPLEMENTED
    handlers[method] = (payload, context) => {
      assertValid(spec.request, payload, `${contract.name}.${method}`);
      return implement(payload, context);
    };
  }
  return handlers;
}

export function serve<C extends ServiceContract>(
  transport: Pick<Transport, 'serve'>,
  contract: C,
  implementation: Implementation<C>,
): Promise<Listener> {
  return transport.serve(contract.name, handlersFor(contract, implementation));
}

export async function publish<C extends ServiceContract, E extends keyof C['events'] & string>(
  transport: Pick<Transport, 'publish'>,
  contract: C,
  topic: E,
  event: Static<C['events'][E]>,
  options?: PublishOptions,
): Promise<void> {
  assertValid(contract.events[topic]!, event, `${contract.name} event ${topic}`);
  await transport.publish(contract.name, topic, event, options);
}

export function subscribe<C extends ServiceContract, E extends keyof C['events'] & string>(
  transport: Pick<Transport, 'subscribe'>,
  contract: C,
  topic: E,
  handler: (event: Static<C['events'][E]>, context: EventContext) => void | Promise<void>,
  options?: SubscribeOptions,
): Promise<Subscription> {
  return transport.subscribe(
    contract.name,
    topic,
    (event, context) => {
      assertValid(contract.events[topic]!, event, `${contract.name} event ${topic}`);
      return handler(event as Static<C['events'][E]>, context);
    },
    options,
  );
}
