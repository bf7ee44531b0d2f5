/**
 * One name, several replicas, coming and going: `docker compose up --scale posts=3` or a
 * Kubernetes headless service makes the name `posts` resolve to one address per replica.
 * Expanding each configured host name into the addresses it resolves to lets client-side
 * balancing and event registrations (HTTP, TCP, UDP) reach every replica, not whichever one
 * the system resolver picks.
 *
 * Followed while running (Replicas): the configured names are kept and resolved again every
 * REPLICA_REFRESH_MS (default 5 s), and soon after a call fails to reach a replica (at most
 * once a second). When a service's addresses change, its endpoint set gains the new replicas
 * and drops the vanished ones, subscriptions register with the new ones at once, and a
 * transport closes what it held for a vanished one once its calls are done (endpoints.ts
 * followReplicas). A name is then always its addresses, even a single one: each replica is an
 * endpoint of its own, with its own connection and state. IP literals are never resolved, and
 * with no host name configured there is no timer at all.
 *
 * A name that stops resolving (a DNS error, an empty answer) keeps its last known addresses:
 * a DNS hiccup never empties a service; one never resolved yet is used as it is (connecting
 * to it then fails with the usual clear error). Only addresses of the first answer's family
 * are used, so `localhost` stays one address rather than 127.0.0.1 + ::1.
 *
 * REPLICA_REFRESH_MS=0 resolves once, at start (expandReplicas), as before: a name with one
 * address is kept as a name, so TLS checks the certificate against it.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ServiceConfig } from './config.js';
import type { Logger } from './logger.js';
import type { TransportKind } from './transport.js';
import { formatHostPort, parseHostPort, type ReplicaUpdates } from './endpoints.js';

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: Lookup = (host) => dnsLookup(host, { all: true });

/** At most one re-resolution a second after failures: a burst of refused calls is one lookup. */
export const FAILURE_REFRESH_MIN_MS = 1_000;

/** Replace, in place, each service's host names by the replicas' addresses (COMPARE_TRANSPORTS' too), once. */
export async function expandReplicas(
  services: Record<string, ServiceConfig>,
  lookup: Lookup = systemLookup,
): Promise<void> {
  await Promise.all(
    Object.values(services).map(async (service) => {
      if (service.addresses?.length) service.addresses = await expandAll(service.addresses, lookup);
      if (service.also === undefined) return;
      const entries = Object.entries(service.also) as [TransportKind, string[]][];
      for (const [kind, addresses] of entries) service.also[kind] = await expandAll(addresses, lookup);
    }),
  );
}

async function expandAll(addresses: string[], lookup: Lookup): Promise<string[]> {
  const expanded = await Promise.all(addresses.map((address) => expand(address, lookup)));
  return [...new Set(expanded.flat())];
}

async function expand(address: string, lookup: Lookup): Promise<string[]> {
  const { host, port } = parseHostPort(address);
  if (isIP(host)) return [address];
  const resolved = await resolve(host, port, lookup);
  return resolved !== undefined && resolved.length > 1 ? resolved : [address];
}

/** `host`'s addresses of its first answer's family, at `port`; undefined when it does not resolve. */
async function resolve(host: string, port: number, lookup: Lookup): Promise<string[] | undefined> {
  const answers = await lookup(host).catch(() => []);
  const family = answers[0]?.family;
  const same = answers.filter((a) => a.family === family);
  if (same.length === 0) return undefined;
  return [...new Set(same.map((a) => formatHostPort({ host: a.address, port })))];
}

/** The configured `host:port` with a host name in it, or undefined for an IP literal (or an unreadable address). */
function hostName(address: string): { host: string; port: number } | undefined {
  try {
    const parsed = parseHostPort(address);
    return isIP(parsed.host) ? undefined : parsed;
  } catch {
    return undefined; // left for whoever uses it to reject, with its usual message
  }
}

/**
 * The configured names of one process's transport and what each resolves to now, resolved again
 * every `refreshMs` and soon after a failure. `expand()` is what a route's addresses are; a name
 * seen there for the first time is watched from then on.
 */
export class Replicas implements ReplicaUpdates {
  readonly #lookup: Lookup;
  readonly #refreshMs: number;
  readonly #logger: Logger;
  /** Each configured `host:port` with a host name → its replicas' addresses (undefined until it first resolves). */
  readonly #names = new Map<string, string[] | undefined>();
  readonly #listeners: Array<() => void> = [];
  #every: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #lastRefresh = 0;
  #refreshing: Promise<void> | undefined;
  #closed = false;

  /** `refreshMs` 0: nothing is followed, expand() returns addresses as they are. */
  constructor({ refreshMs, lookup = systemLookup, logger }: { refreshMs: number; lookup?: Lookup; logger: Logger }) {
    this.#refreshMs = refreshMs;
    this.#lookup = lookup;
    this.#logger = logger;
  }

  get following(): boolean {
    return this.#refreshMs > 0;
  }

  /** `addresses` with each host name replaced by the addresses it last resolved to. */
  expand(addresses: readonly string[]): string[] {
    if (!this.following || this.#closed) return [...addresses];
    const out = new Set<string>();
    for (const address of addresses) {
      if (hostName(address) === undefined) {
        out.add(address);
        continue;
      }
      if (!this.#names.has(address)) this.#watch(address);
      for (const replica of this.#names.get(address) ?? [address]) out.add(replica);
    }
    return [...out];
  }

  /** Watch every name in `addresses` and resolve them now: resolves once they have been looked up. */
  async resolve(addresses: readonly string[]): Promise<void> {
    if (!this.following) return;
    for (const address of addresses)
      if (hostName(address) !== undefined && !this.#names.has(address)) this.#watch(address, false);
    await this.refresh();
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** A replica refused or none was reachable: resolve again soon, at most once a second. */
  failed(): void {
    if (this.#names.size === 0 || this.#soon !== undefined || this.#closed) return;
    const waitMs = Math.max(0, this.#lastRefresh + FAILURE_REFRESH_MIN_MS - Date.now());
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.refresh();
    }, waitMs).unref();
  }

  /** Resolve every name again now (one run at a time), and tell the listeners if any answer changed. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#every);
    clearTimeout(this.#soon);
    this.#listeners.length = 0;
  }

  #watch(address: string, resolveNow = true): void {
    this.#names.set(address, undefined);
    this.#every ??= setInterval(() => void this.refresh(), this.#refreshMs).unref();
    if (resolveNow) void this.refresh();
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    this.#lastRefresh = Date.now();
    const names = [...this.#names.keys()];
    const answers = await Promise.all(
      names.map((address) => {
        const { host, port } = hostName(address)!;
        return resolve(host, port, this.#lookup);
      }),
    );
    if (this.#closed) return;
    let changed = false;
    names.forEach((address, i) => {
      const now = answers[i];
      const before = this.#names.get(address);
      // No answer: keep what was known (a DNS hiccup must not empty a service).
      if (now === undefined || (before !== undefined && sameSet(before, now))) return;
      this.#names.set(address, now);
      changed = true;
      this.#logger.info(
        { name: address, replicas: now, before },
        `replicas: ${address} now resolves to ${now.join(', ')}`,
      );
    });
    if (!changed) return;
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.#logger.error({ err }, 'replicas: following a change failed');
      }
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
