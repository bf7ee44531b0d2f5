import type { EventHandler } from './transport.js';

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
      if (entry.topic !== topic) continue;
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

/** Subscriber-side bookkeeping: the handlers behind this process's subscription ids. */
export interface LocalSubscription<Extra = unknown> {
  service: string;
  topic: string;
  group: string | undefined;
  handler: EventHandler;
  extra: Extra;
}
