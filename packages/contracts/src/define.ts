/**
 * A contract is data: a service's name, its methods (request and reply schemas), its
 * events. TypeBox schemas are plain JSON Schema, so another language can read the same
 * contract; TypeScript types are inferred from them, so clients and servers are typed
 * from one object with no code generation.
 */
import type { Static, TSchema } from '@sinclair/typebox';

export interface MethodSpec<Request extends TSchema = TSchema, Reply extends TSchema = TSchema> {
  request: Request;
  reply: Reply;
  /** What the method does, for the README and for people reading the contract. */
  summary: string;
  /**
   * Calling it twice with the same request does what calling it once does (reads; writes that
   * set a state), so its calls are retried when the service was unavailable (@chirp/transport's retry.ts).
   */
  idempotent?: boolean;
}

export interface ServiceContract<
  Name extends string = string,
  Methods extends Record<string, MethodSpec> = Record<string, MethodSpec>,
  Events extends Record<string, TSchema> = Record<string, TSchema>,
> {
  name: Name;
  /** The port the service listens on when nothing else is configured. */
  defaultPort: number;
  methods: Methods;
  events: Events;
}

export function defineService<
  const Name extends string,
  const Methods extends Record<string, MethodSpec>,
  const Events extends Record<string, TSchema> = Record<never, TSchema>,
>(contract: ServiceContract<Name, Methods, Events>): ServiceContract<Name, Methods, Events> {
  return contract;
}

export type RequestOf<C extends ServiceContract, M extends keyof C['methods']> = Static<C['methods'][M]['request']>;
export type ReplyOf<C extends ServiceContract, M extends keyof C['methods']> = Static<C['methods'][M]['reply']>;
export type EventOf<C extends ServiceContract, E extends keyof C['events']> = Static<C['events'][E]>;
