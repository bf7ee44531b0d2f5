/**
 * Client-side load balancing for the socket transports (HTTP, TCP, UDP), written once: a
 * service's addresses come from config (`POSTS_ADDR=10.0.0.5:4102,10.0.0.6:4102`), each call
 * goes to the less loaded of two live endpoints taken at random, and an endpoint that refused a
 * connection sits out for a backoff that grows while it keeps failing. A service's replicas may
 * come and go while callers run (replicas.ts): followReplicas() keeps the sets, the subscriptions
 * and what a transport holds per replica in step with them.
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

  /** Told when a replica refused or none was reachable: its name may resolve elsewhere by now. */
  readonly #onFailure: (() => void) | undefined;

  /** `load` counts an endpoint's calls outstanding; by default its own `outstanding`. */
  constructor(
    addresses: readonly string[],
    {
      kind,
      service,
      load = (endpoint) => endpoint.outstanding,
      onFailure,
    }: { kind: string; service: string; load?: Load; onFailure?: () => void },
  ) {
    this.endpoints = addresses.map(newEndpoint);
    this.#kind = kind;
    this.#service = service;
    this.#load = load;
    this.#onFailure = onFailure;
  }

  /**
   * The service's replicas are now `addresses`: new ones join (fresh), vanished ones leave, and
   * those that stay keep their state (outstanding calls, failures, backoff). Returns those that left.
   */
  replace(addresses: readonly string[]): string[] {
    const wanted = new Set(addresses);
    const left: string[] = [];
    for (let i = this.endpoints.length - 1; i >= 0; i--) {
      const address = this.endpoints[i]!.address;
      if (wanted.delete(address)) continue;
      this.endpoints.splice(i, 1);
      left.push(address);
    }
    for (const address of wanted) this.endpoints.push(newEndpoint(address));
    return left;
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
    this.#onFailure?.();
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
    this.#onFailure?.();
  }

  markUp(endpoint: EndpointState): void {
    endpoint.failures = 0;
    endpoint.downUntil = 0;
  }
}

function newEndpoint(address: string): EndpointState {
  return { address, downUntil: 0, failures: 0, outstanding: 0 };
}

/** Ties at random: a pair's order comes from where the scan started, and favouring it would favour the endpoint after a dead one. */
function lessLoaded(a: EndpointState, b: EndpointState, loadA: number, loadB: number): EndpointState {
  if (loadA !== loadB) return loadA < loadB ? a : b;
  return Math.random() < 0.5 ? a : b;
}

/**
 * What a transport follows its services' replicas with (replicas.ts; undefined: addresses never
 * change): a call after each change, and a word when a replica failed, so that it looks again soon.
 */
export interface ReplicaUpdates {
  onChange(listener: () => void): void;
  failed(): void;
}

/** Something that sends to replicas' addresses: the endpoint sets, a transport's subscriptions. */
export interface ReplicaUsers {
  /** Take the routes' addresses as they are now; returns the addresses let go of. */
  refresh(): string[];
  /** Whether anything here still sends to `address`. */
  uses(address: string): boolean;
}

/**
 * Keep `users` in step with `replicas`, written once for the point-to-point transports: after
 * each change every user takes the new addresses (sets gain and drop endpoints, subscriptions
 * register with new publishers and forget vanished ones), then `retire` is called for each address
 * none of them uses any more, so the transport closes what it holds there (a connection, a pool,
 * a socket) once the calls in flight on it have ended.
 */
export function followReplicas(
  replicas: ReplicaUpdates | undefined,
  users: readonly ReplicaUsers[],
  retire: (address: string) => void,
): void {
  replicas?.onChange(() => {
    const left = new Set(users.flatMap((user) => user.refresh()));
    for (const address of left) if (!users.some((user) => user.uses(address))) retire(address);
  });
}

/** What a transport holds for one replica (a TCP connection, a UDP peer): what is in flight on it, and whether its replica left. */
export interface HeldForReplica {
  readonly address: string;
  pending: number;
  /** Its replica left the service's addresses: closed once nothing is in flight on it. */
  retiring?: boolean;
}

/**
 * Closing what a transport holds for a replica that left (followReplicas' `retire`) once its calls
 * in flight have ended, written once for TCP's connections and UDP's peers: `settled` after each
 * call or registration on it ends, `retire` when its replica leaves.
 */
export class Retirement<T extends HeldForReplica> {
  readonly #held: ReadonlyMap<string, T>;
  readonly #close: (held: T) => void;

  constructor(held: ReadonlyMap<string, T>, close: (held: T) => void) {
    this.#held = held;
    this.#close = close;
  }

  settled(held: T): void {
    held.pending--;
    if (held.retiring && held.pending === 0) this.#close(held);
  }

  retire(address: string): void {
    const held = this.#held.get(address);
    if (held === undefined) return;
    held.retiring = true;
    if (held.pending === 0) this.#close(held);
  }
}

/** A transport's endpoint sets, one per service, made from its route on first use and following it after. */
export class ServiceEndpoints implements ReplicaUsers {
  readonly #sets = new Map<string, EndpointSet>();
  readonly #kind: string;
  readonly #addressesOf: (service: string) => readonly string[];
  readonly #load: Load | undefined;
  readonly #onFailure: (() => void) | undefined;

  constructor(
    kind: string,
    addressesOf: (service: string) => readonly string[],
    load?: Load,
    replicas?: ReplicaUpdates,
  ) {
    this.#kind = kind;
    this.#addressesOf = addressesOf;
    this.#load = load;
    this.#onFailure = replicas === undefined ? undefined : () => replicas.failed();
  }

  of(service: string): EndpointSet {
    let set = this.#sets.get(service);
    if (set === undefined) {
      const options = { kind: this.#kind, service, load: this.#load, onFailure: this.#onFailure };
      set = new EndpointSet(this.#addressesOf(service), options);
      this.#sets.set(service, set);
    }
    return set;
  }

  refresh(): string[] {
    return [...this.#sets].flatMap(([service, set]) => set.replace(this.#addressesOf(service)));
  }

  uses(address: string): boolean {
    return !this.at(address).next().done;
  }

  /** Every set, with the endpoint(s) at `address` in it: one replica's state, whichever service it serves. */
  *at(address: string): Generator<[EndpointSet, EndpointState]> {
    for (const set of this.#sets.values()) {
      for (const endpoint of set.endpoints) if (endpoint.address === address) yield [set, endpoint];
    }
  }
}
