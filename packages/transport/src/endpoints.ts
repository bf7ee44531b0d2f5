/**
 * Client-side load balancing for the socket transports (HTTP, TCP, UDP), written once: a
 * service's addresses come from config (`POSTS_ADDR=10.0.0.5:4102,10.0.0.6:4102`), each call
 * goes to the less loaded of two live endpoints taken at random, and an endpoint that refused a
 * connection sits out for a backoff that grows while it keeps failing.
 */
import { TransportError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(address: string): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(address.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || match[1] === '' || !(port >= 0 && port <= 65535)) {
    throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host: match[1]!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether `host` is this machine's loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Where a service binds when <SERVICE>_LISTEN is not set, at the port of its first address:
 * loopback when every address its callers are given is a loopback one (the default
 * 127.0.0.1:<port>: a local run serves nothing beyond this machine), else every interface
 * (compose's `posts:4102`, replicas on other hosts).
 */
export function defaultListen(addresses: readonly string[]): string | undefined {
  const first = addresses[0];
  if (first === undefined) return undefined;
  const { port } = parseHostPort(first);
  const local = addresses.every((address) => isLoopbackHost(parseHostPort(address).host));
  const host = !local ? '0.0.0.0' : parseHostPort(first).host === '::1' ? '[::1]' : '127.0.0.1';
  return `${host}:${port}`;
}

export interface EndpointState {
  address: string;
  /** Epoch ms before which this endpoint is not tried again. */
  downUntil: number;
  failures: number;
  /** Calls sent to it and not yet settled, where the transport counts them here (HTTP does). */
  outstanding: number;
}

export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 5_000;

/** Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms … 5 s. */
export function backoffMs(failures: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** How many calls an endpoint has outstanding: what the balancing weighs (the fewer, the likelier). */
export type Load = (endpoint: EndpointState) => number;

/**
 * One service's endpoints, and the choice of one for each call: of two live endpoints taken at
 * random, the one with fewer calls outstanding ("power of two choices", as Envoy's and Finagle's
 * least-request balancers do). A slow replica holds on to its calls, so it is passed over while
 * it is slow; with nothing outstanding anywhere, calls spread at random. One endpoint is simply
 * itself. An endpoint that refused a connection sits out its backoff.
 */
export class EndpointSet {
  readonly endpoints: EndpointState[];
  /** Who reaches whom, for errors: `tcp`, `posts`. */
  readonly #kind: string;
  readonly #service: string;
  readonly #load: Load;

  /** `load` counts an endpoint's calls outstanding; by default its own `outstanding`. */
  constructor(
    addresses: readonly string[],
    { kind, service, load = (endpoint) => endpoint.outstanding }: { kind: string; service: string; load?: Load },
  ) {
    this.endpoints = addresses.map((address) => ({ address, downUntil: 0, failures: 0, outstanding: 0 }));
    this.#kind = kind;
    this.#service = service;
    this.#load = load;
  }

  /** The endpoint for the next call; UNAVAILABLE, naming every address, when all are sitting out. */
  pick(now = Date.now()): EndpointState {
    const all = this.endpoints;
    const n = all.length;
    if (n === 1 && all[0]!.downUntil <= now) return all[0]!;
    // The first two live endpoints from a random start: a random pair, without allocating.
    const start = Math.floor(Math.random() * n);
    let first: EndpointState | undefined;
    for (let i = 0; i < n; i++) {
      const endpoint = all[(start + i) % n]!;
      if (endpoint.downUntil > now) continue;
      if (first === undefined) first = endpoint;
      else return lessLoaded(first, endpoint, this.#load(first), this.#load(endpoint));
    }
    if (first !== undefined) return first;
    const tried = all.map((e) => e.address).join(', ');
    throw new TransportError(
      'UNAVAILABLE',
      `${this.#kind}: no reachable endpoint for ${this.#service} (tried ${tried})`,
    );
  }

  /** Calls sent at once and refused together are one outage: while it sits out, no more failures count. */
  markDown(endpoint: EndpointState, now = Date.now()): void {
    if (endpoint.downUntil > now) return;
    endpoint.failures++;
    endpoint.downUntil = now + backoffMs(endpoint.failures);
  }

  markUp(endpoint: EndpointState): void {
    endpoint.failures = 0;
    endpoint.downUntil = 0;
  }
}

/** Ties at random: a pair's order comes from where the scan started, and favouring it would favour the endpoint after a dead one. */
function lessLoaded(a: EndpointState, b: EndpointState, loadA: number, loadB: number): EndpointState {
  if (loadA !== loadB) return loadA < loadB ? a : b;
  return Math.random() < 0.5 ? a : b;
}

/** A transport's endpoint sets, one per service, made from its route on first use. */
export class ServiceEndpoints {
  readonly #sets = new Map<string, EndpointSet>();
  readonly #kind: string;
  readonly #addressesOf: (service: string) => readonly string[];
  readonly #load: Load | undefined;

  constructor(kind: string, addressesOf: (service: string) => readonly string[], load?: Load) {
    this.#kind = kind;
    this.#addressesOf = addressesOf;
    this.#load = load;
  }

  of(service: string): EndpointSet {
    let set = this.#sets.get(service);
    if (set === undefined) {
      set = new EndpointSet(this.#addressesOf(service), { kind: this.#kind, service, load: this.#load });
      this.#sets.set(service, set);
    }
    return set;
  }

  /** Every set, with the endpoint(s) at `address` in it: one replica's state, whichever service it serves. */
  *at(address: string): Generator<[EndpointSet, EndpointState]> {
    for (const set of this.#sets.values()) {
      for (const endpoint of set.endpoints) if (endpoint.address === address) yield [set, endpoint];
    }
  }
}
