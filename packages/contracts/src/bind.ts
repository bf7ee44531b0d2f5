/**
 * The typed client and server for a contract, over any Transport. The server validates
 * every request against the contract before the implementation sees it — the same check
 * whatever transport carried it — so an implementation only ever gets well-formed input.
 * Subscribers validate events the same way.
 */
import type { Static } from '@sinclair/typebox';
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
import { onTheWire } from './domain-error.js';
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
 * A method the contract marks idempotent goes out with `idempotent: true`, which the transport
 * retries while its service is unavailable, within the call's deadline (@chirp/transport's
 * retry.ts). Other methods fail at once: for a write that is not idempotent by nature, retrying is
 * the caller's decision (with an idempotency key).
 */
export function client<C extends ServiceContract>(
  transport: Pick<Transport, 'request'>,
  contract: C,
  defaults: RequestOptions = {},
): Client<C> {
  const methods = {} as Record<string, (request: unknown, options?: RequestOptions) => Promise<unknown>>;
  for (const [method, spec] of Object.entries(contract.methods)) {
    const idempotent = spec.idempotent === true;
    methods[method] = (request, options) =>
      transport.request(contract.name, method, request, { ...defaults, ...options, idempotent });
  }
  return methods as Client<C>;
}

/**
 * The transport handlers for an implementation: input checked against the contract first, and
 * the implementation's DomainErrors sent as the transport's errors (domain-error.ts).
 */
export function handlersFor<C extends ServiceContract>(contract: C, implementation: Implementation<C>): Handlers {
  const handlers: Record<string, Handlers[string]> = {};
  for (const [method, spec] of Object.entries(contract.methods)) {
    const implement = implementation[method as keyof Implementation<C>] as
      ((r: unknown, c: CallContext) => unknown) | undefined;
    if (typeof implement !== 'function') continue; // callers get UNIMPLEMENTED
    handlers[method] = (payload, context) => {
      assertValid(spec.request, payload, `${contract.name}.${method}`);
      let reply: unknown;
      try {
        reply = implement(payload, context);
      } catch (err) {
        throw onTheWire(err);
      }
      // A promise only for an asynchronous implementation: a plain reply goes back as it is.
      return reply instanceof Promise ? reply.catch(rethrowOnTheWire) : reply;
    };
  }
  return handlers;
}

function rethrowOnTheWire(err: unknown): never {
  throw onTheWire(err);
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
