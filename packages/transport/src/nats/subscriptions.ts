/**
 * What served subjects and event subscriptions have in common: what they are built from, and
 * how they start and stop listening on the transport's connection.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import { flushBy, type NatsLink } from './connection.js';
import { within } from '../close-order.js';
import type { Subjects } from './wire.js';

/** The transport's own tallies (Transport.counters). */
export interface NatsCounters {
  /** Requests, replies and events refused for their size before they were sent. */
  refused: number;
  /** Requests and events a server or subscriber could not read. */
  malformed: number;
}

/** What a served subject or a subscription is built from. */
export interface ListenerSetup {
  link: NatsLink;
  subjects: Subjects;
  logger: Logger;
  /** How long close() waits for started work. */
  graceMs: number;
  /** The message limit now: the smaller of ours and the server's max_payload. */
  limit: () => number;
  counters: NatsCounters;
  onClosed: (listener: { close(): Promise<void> }) => void;
}

/**
 * Subscribe and make sure the server has the interest before returning (a flush), so that a
 * request sent right after serve() resolves finds its server.
 */
export async function subscribeNow(
  nc: NatsConnection,
  subject: string,
  queue: string | undefined,
  callback: (msg: Msg) => void,
  deadline: number,
): Promise<Subscription> {
  let subscription: Subscription;
  try {
    subscription = nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      callback: (err, msg) => {
        if (err === null) callback(msg);
      },
    });
  } catch (err) {
    throw unavailable(`nats: cannot subscribe to ${subject}`, err); // the connection closed meanwhile
  }
  try {
    await flushBy(nc, deadline, `subscribe to ${subject}`);
  } catch (err) {
    subscription.unsubscribe();
    throw err;
  }
  return subscription;
}

/**
 * Stop a subscription from taking messages: drained, so that what the server had sent before the
 * unsubscribe still reaches the callback (within `graceMs`: a lost connection would hold it up),
 * then removed, so that a reconnect does not subscribe it again.
 */
export async function stopSubscription(subscription: Subscription, graceMs: number): Promise<void> {
  await within(subscription.drain(), graceMs);
  try {
    if (!subscription.isClosed()) subscription.unsubscribe();
  } catch {
    // The connection is closed: so is every subscription on it.
  }
}
