import type { ReplicaUsers } from './endpoints.js';
import { TransportError } from './errors.js';
import { newSubscriptionId } from './ids.js';
import type { TransportOptions } from './options.js';
import type { EventHandler, Subscription } from './transport.js';

/**
 * Publisher-side bookkeeping for the transports without a broker (HTTP, TCP, UDP): who
 * subscribed to which topic, and where to send their events. A `sink` is whatever the
 * transport needs to reach the subscriber: a TCP socket, a UDP address, a callback URL.
 *
 * Registrations with a TTL expire unless renewed, so a subscriber that vanished without
 * a word stops receiving (and costing) events; one that restarts registers again.
 */
export interface SubscriberEntry<Sink> {
  subscriptionId: string;
  topic: string;
  group: string | undefined;
  sink: Sink;
  /** Epoch ms; Infinity for registrations tied to a live connection. */
  expiresAt: number;
}

export class SubscriberRegistry<Sink> {
  readonly #entries = new Map<string, SubscriberEntry<Sink>>();
  readonly #nextInGroup = new Map<string, number>();

  upsert(entry: SubscriberEntry<Sink>): void {
    this.#entries.set(entry.subscriptionId, entry);
  }

  /** The registration of `subscriptionId`, unless it has expired. */
  get(subscriptionId: string, now = Date.now()): SubscriberEntry<Sink> | undefined {
    const entry = this.#entries.get(subscriptionId);
    return entry !== undefined && entry.expiresAt > now ? entry : undefined;
  }

  remove(subscriptionId: string): void {
    this.#entries.delete(subscriptionId);
  }

  removeWhere(match: (entry: SubscriberEntry<Sink>) => boolean): void {
    for (const [id, entry] of this.#entries) if (match(entry)) this.#entries.delete(id);
  }

  /** Who gets one event on `topic`: every ungrouped subscriber and one member per group. */
  targets(topic: string, now = Date.now()): Array<SubscriberEntry<Sink>> {
    const out: Array<SubscriberEntry<Sink>> = [];
    const groups = new Map<string, Array<SubscriberEntry<Sink>>>();
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id);
        continue;
      }
      if (!topicMatches(entry.topic, topic)) continue;
      if (entry.group === undefined) {
        out.push(entry);
      } else {
        const members = groups.get(entry.group) ?? [];
        members.push(entry);
        groups.set(entry.group, members);
      }
    }
    for (const [group, members] of groups) {
      const key = `${topic}\u0000${group}`;
      const next = this.#nextInGroup.get(key) ?? 0;
      this.#nextInGroup.set(key, next + 1);
      out.push(members[next % members.length]!);
    }
    return out;
  }
}

/**
 * Whether a subscription's `pattern` takes events on `topic`, the way AMQP's topic exchange
 * matches them (its transport does this natively; the others call this): topics are words
 * separated by dots; in a pattern `*` stands for exactly one word and `#` for zero or more, so
 * `post.*` takes `post.created` and `post.deleted` but not `post` or `post.a.b`, and `post.#`
 * takes all three. A published topic has no wildcards (checkPublishedTopic).
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  if (!pattern.includes('*') && !pattern.includes('#')) return false;
  return matchWords(pattern.split('.'), 0, topic.split('.'), 0);
}

function matchWords(pattern: string[], p: number, words: string[], w: number): boolean {
  if (p === pattern.length) return w === words.length;
  const token = pattern[p];
  if (token === '#') {
    for (let skip = w; skip <= words.length; skip++) if (matchWords(pattern, p + 1, words, skip)) return true;
    return false;
  }
  if (w === words.length) return false;
  return (token === '*' || token === words[w]) && matchWords(pattern, p + 1, words, w + 1);
}

/** An event is published on one topic: wildcards belong to subscriptions only, on every transport. */
export function checkPublishedTopic(topic: string): void {
  if (/[*#]/.test(topic)) {
    throw new TransportError('INVALID_ARGUMENT', `cannot publish on ${topic}: * and # are wildcards of subscriptions`);
  }
}

/** Subscriber-side bookkeeping: the handlers behind this process's subscription ids. */
export interface LocalSubscription<Extra = unknown> {
  service: string;
  topic: string;
  group: string | undefined;
  handler: EventHandler;
  extra: Extra;
}

/** How a subscriber registers with one publisher replica, and takes the registration back. */
export interface RegistrationWire {
  register(
    address: string,
    subscriptionId: string,
    subscription: LocalSubscription,
    timeoutMs: number,
  ): Promise<unknown>;
  unregister(address: string, subscriptionId: string, timeoutMs: number): Promise<unknown>;
}

/**
 * Bring subscriptions in line with their services' replicas as they are now (replicas.ts), for
 * every transport without a broker: each registers at once with a replica it did not have (one
 * that refuses is left to the usual retries: renewals, reconnection) and forgets one that left
 * (nothing is sent there: it is likely gone, and its registration expires or dies with its
 * connection). Returns the addresses let go of.
 */
export function followPublishers(
  subscriptions: Iterable<[string, LocalSubscription<{ addresses: string[] }>]>,
  addressesOf: (service: string) => readonly string[],
  register: (address: string, subscriptionId: string) => Promise<unknown>,
  onRefused: (err: unknown, address: string, subscription: LocalSubscription) => void,
): string[] {
  const left: string[] = [];
  for (const [id, sub] of subscriptions) {
    const now = addressesOf(sub.service);
    if (now.length === 0) continue; // never happens (a name keeps its last addresses); never drop them all
    const before = sub.extra.addresses;
    sub.extra.addresses = [...now];
    left.push(...before.filter((address) => !now.includes(address)));
    for (const address of now) {
      if (!before.includes(address)) register(address, id).catch((err: unknown) => onRefused(err, address, sub));
    }
  }
  return left;
}

/** An unsubscribe is a courtesy (the registration expires anyway): never wait long for it. */
const UNREGISTER_TIMEOUT_MS = 1_000;

/**
 * The subscriber's side for the transports without a broker whose registrations expire (HTTP,
 * UDP), written once: a subscription registers with every replica of the publishing service
 * (each publishes its own events) and resolves once one has accepted; every third of the TTL it
 * registers again with each, so a publisher that restarted, or one that refused at first, is
 * sending again within that time, and a subscriber that vanished is forgotten by the TTL. When the
 * publishing service's replicas change (replicas.ts), it registers with the new ones at once and
 * stops renewing with those that left (refresh()).
 */
export class RenewedSubscriptions implements ReplicaUsers {
  readonly #kind: string;
  readonly #options: RenewalOptions;
  readonly #wire: RegistrationWire;
  readonly #subscriptions = new Map<string, LocalSubscription<Renewed>>();
  #closed = false;

  constructor(kind: string, options: RenewalOptions, wire: RegistrationWire) {
    this.#kind = kind;
    this.#options = options;
    this.#wire = wire;
  }

  get(subscriptionId: string): LocalSubscription | undefined {
    return this.#subscriptions.get(subscriptionId);
  }

  async subscribe(service: string, topic: string, handler: EventHandler, group?: string): Promise<Subscription> {
    const addresses = this.#options.route(service).addresses;
    if (addresses.length === 0) {
      throw new TransportError('UNAVAILABLE', `${this.#kind}: ${service} has no address to subscribe to`);
    }
    const id = newSubscriptionId();
    const sub: LocalSubscription<Renewed> = { service, topic, group, handler, extra: { addresses } };
    this.#subscriptions.set(id, sub);
    const results = await Promise.allSettled(
      addresses.map((a) => this.#register(a, id, this.#options.defaultTimeoutMs)),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length === results.length) {
      this.#subscriptions.delete(id);
      throw failures[0]!.reason;
    }
    for (const failure of failures) {
      this.#options.logger.warn(
        { err: failure.reason, service, topic },
        `${this.#kind}: a publisher refused the subscription; renewals retry`,
      );
    }
    const renewEveryMs = Math.max(1, Math.floor(this.#options.subscriptionTtlMs / 3));
    sub.extra.renewTimer = setInterval(() => this.#renew(id, renewEveryMs), renewEveryMs).unref();
    return { close: () => this.#unsubscribe(id) };
  }

  /** Register every subscription again with each of its publishers now (HTTP: its callback URL moved). */
  registerAll(): Promise<unknown> {
    const ids = [...this.#subscriptions.entries()];
    return Promise.allSettled(
      ids.flatMap(([id, sub]) => sub.extra.addresses.map((a) => this.#register(a, id, this.#options.defaultTimeoutMs))),
    );
  }

  /** Register with the publishers' new replicas now, forget vanished ones (followReplicas). */
  refresh(): string[] {
    if (this.#closed) return [];
    return followPublishers(
      this.#subscriptions,
      (service) => this.#options.route(service).addresses,
      (address, id) => this.#register(address, id, this.#options.defaultTimeoutMs),
      (err, address, sub) =>
        this.#options.logger.debug(
          { err, address, topic: sub.topic },
          `${this.#kind}: a new publisher refused; renewals retry`,
        ),
    );
  }

  uses(address: string): boolean {
    for (const sub of this.#subscriptions.values()) if (sub.extra.addresses.includes(address)) return true;
    return false;
  }

  /** Stop renewing and forget every subscription; publishers drop them when their TTL runs out. */
  close(): void {
    this.#closed = true;
    for (const sub of this.#subscriptions.values()) clearInterval(sub.extra.renewTimer);
    this.#subscriptions.clear();
  }

  #renew(id: string, timeoutMs: number): void {
    const sub = this.#subscriptions.get(id);
    for (const address of sub?.extra.addresses ?? []) {
      this.#register(address, id, timeoutMs).catch((err: unknown) => {
        this.#options.logger.debug({ err, address, topic: sub?.topic }, `${this.#kind}: subscription renewal failed`);
      });
    }
  }

  async #register(address: string, id: string, timeoutMs: number): Promise<unknown> {
    const sub = this.#subscriptions.get(id);
    if (sub === undefined || this.#closed) return;
    return this.#wire.register(address, id, sub, timeoutMs);
  }

  async #unsubscribe(id: string): Promise<void> {
    const sub = this.#subscriptions.get(id);
    if (sub === undefined) return;
    this.#subscriptions.delete(id);
    clearInterval(sub.extra.renewTimer);
    if (this.#closed) return;
    const timeoutMs = Math.min(this.#options.defaultTimeoutMs, UNREGISTER_TIMEOUT_MS);
    await Promise.allSettled(sub.extra.addresses.map((address) => this.#wire.unregister(address, id, timeoutMs)));
  }
}

type RenewalOptions = Pick<TransportOptions, 'route' | 'subscriptionTtlMs' | 'defaultTimeoutMs' | 'logger'>;

interface Renewed {
  addresses: string[];
  renewTimer?: NodeJS.Timeout;
}
