/**
 * Events on core NATS: published on `<prefix>.events.<service>.<topic>`, delivered by the server
 * to whoever subscribes at that moment. publish() resolves once the server has the event (a
 * flush: PING after the message, PONG back), so it was routed to every subscriber connected then;
 * nothing is stored, so a subscriber that is disconnected misses it. Ungrouped subscribers each get
 * every event; a group is a NATS queue group, so one member gets each. Order is the publisher's,
 * per subscriber, though handlers run concurrently and may finish out of order.
 */
import type { Msg, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { InFlight, deliver } from '../dispatch.js';
import { checkSize } from '../options.js';
import type { PublishCall, TraceCarrier } from '../tracing.js';
import type { EventHandler, Subscription } from '../transport.js';
import { flushBy, publishError } from './connection.js';
import { stopSubscription, subscribeNow, type ListenerSetup } from './subscriptions.js';
import { topicMatches } from '../subscribers.js';
import { encodeBody } from '../json-body.js';
import { decodeEvent, traceHeaders } from './wire.js';

/** Resolves once the server has the event; UNAVAILABLE or DEADLINE_EXCEEDED by `deadline` otherwise. */
export async function publishEvent(
  setup: Pick<ListenerSetup, 'link' | 'subjects' | 'limit' | 'counters'>,
  event: { service: string; topic: string; payload: unknown },
  publishing: PublishCall,
  deadline: number,
): Promise<void> {
  const { service, topic } = event;
  const subject = setup.subjects.event(service, topic);
  const body = encodeBody(event.payload);
  const nc = setup.link.current ?? (await setup.link.ready(deadline));
  const what = `nats: event ${service}.${topic}`;
  if (body.length > setup.limit()) setup.counters.refused++;
  checkSize(body.length, setup.limit(), `event ${service}.${topic}`);
  publishing.sent(undefined, body.length);
  try {
    nc.publish(subject, body, { headers: traceHeaders(publishing.carrier) });
  } catch (err) {
    const error = publishError(what, err);
    if (error.code === 'RESOURCE_EXHAUSTED') setup.counters.refused++;
    throw error;
  }
  await flushBy(nc, deadline, `event ${service}.${topic}`);
}

export class EventSubscription implements Subscription {
  readonly #setup: ListenerSetup;
  readonly #service: string;
  readonly #pattern: string;
  readonly #group: string | undefined;
  readonly #handler: EventHandler;
  readonly #inFlight = new InFlight();
  #subscriptions: NatsSubscription[] = [];
  #closing: Promise<void> | undefined;

  constructor(
    setup: ListenerSetup,
    subscription: { service: string; topic: string; group: string | undefined; handler: EventHandler },
  ) {
    this.#setup = setup;
    this.#service = subscription.service;
    this.#pattern = subscription.topic;
    this.#group = subscription.group;
    this.#handler = subscription.handler;
  }

  async start(deadline: number): Promise<void> {
    const listening = this.#setup.subjects.eventSubscription(this.#service, this.#pattern, this.#group);
    const nc = await this.#setup.link.ready(deadline);
    for (const subject of listening.subjects) {
      const onEvent = (msg: Msg): void => this.#onEvent(msg, listening.filter);
      this.#subscriptions.push(await subscribeNow(nc, subject, listening.queue, onEvent, deadline));
    }
    // Closed while it was subscribing: close() found nothing to stop.
    if (this.#closing !== undefined) await this.#stop();
  }

  /** Stop taking events, let the handlers already running finish (within the grace period). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#setup.onClosed(this);
      await this.#stop();
      await this.#inFlight.drained(this.#setup.graceMs);
    })();
    return this.#closing;
  }

  #stop(): Promise<unknown> {
    return Promise.all(this.#subscriptions.map((s) => stopSubscription(s, this.#setup.graceMs)));
  }

  #onEvent(msg: Msg, filter: boolean): void {
    const topic = this.#setup.subjects.topicOf(this.#service, msg.subject);
    if (filter && !topicMatches(this.#pattern, topic)) return;
    let event: { payload: unknown; trace: TraceCarrier };
    try {
      event = decodeEvent(msg, this.#setup.limit());
    } catch (err) {
      // Nobody to tell: the publisher does not wait for its subscribers.
      this.#setup.counters.malformed++;
      this.#setup.logger.warn({ err, subject: msg.subject }, 'nats: malformed event dropped');
      return;
    }
    const incoming = { transport: 'nats' as const, service: this.#service, topic, trace: event.trace };
    void this.#inFlight.run(() => deliver(this.#handler, event.payload, incoming, this.#setup.logger));
  }
}
