/**
 * NATS transport: core NATS through nats.js (@nats-io/transport-node). Subjects and message
 * layout: wire.ts.
 *
 * Requests: core NATS request/reply, at most once. A request goes to the service's subject,
 * where every replica subscribes in one queue group (competing consumers): the server hands it
 * to one of them, and nothing is stored. A request nobody serves fails at once with UNAVAILABLE
 * (the server's "no responders"), as does one in flight when its connection is lost (the handler
 * may or may not have run). A reply that does not come by the deadline fails the call with
 * DEADLINE_EXCEEDED; the handler is given the same deadline (a header carries the caller's
 * timeout). A request a server cannot read (not JSON, no method, over the limit) is answered with
 * INVALID_ARGUMENT or RESOURCE_EXHAUSTED, an unknown method with UNIMPLEMENTED, and the server
 * serves on.
 *
 * Events: published on `<prefix>.events.<service>.<topic>`; publish() resolves once the server
 * has the event. Ungrouped subscribers each get every event; the members of a group
 * (SubscribeOptions.group) form a queue group, so one of them gets each. A subscribed topic may
 * be a pattern (`*` one word, `#` any number), carried by NATS's wildcards (wire.ts). Best
 * effort: an event is delivered to the subscribers connected when it is published, and lost for
 * one that is disconnected then (or that crashes while handling it); a failing handler's event is
 * logged and dropped. JetStream is not used: durable events need a stream, consumers per subscriber and
 * group, acks and a poison policy — the AMQP transport is the durable one; this one stays light.
 *
 * Limits: the smaller of maxMessageBytes and the server's max_payload (1 MiB by default, read
 * from the connection's server info; it counts headers too). A request, reply or event over it
 * is refused with RESOURCE_EXHAUSTED before it is sent; a reply over it becomes a
 * RESOURCE_EXHAUSTED reply.
 *
 * Connection: one per transport (connection.ts), made on first use (so constructing a transport
 * never throws); if it cannot be made, calls fail with UNAVAILABLE naming the server. Once made,
 * nats.js reconnects by itself, for ever, every 0.5-0.75 s, and subscriptions (served services,
 * event subscriptions) survive: it subscribes them again. Calls and publishes made while it is
 * disconnected wait for it within their deadline (publishes within the default timeout), then
 * fail with UNAVAILABLE.
 */
import { PublishCall } from '../tracing.js';
import type { TransportOptions } from '../options.js';
import { CloseOrder } from '../close-order.js';
import type {
  EventHandler,
  Handlers,
  Listener,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { RpcClient } from './client.js';
import { NatsLink } from './connection.js';
import type { ListenerSetup, NatsCounters } from './subscriptions.js';
import { EventSubscription, publishEvent } from './events.js';
import { ServedSubject } from './server.js';
import { Subjects } from './wire.js';

export class NatsTransport implements Transport {
  readonly kind = 'nats' as const;
  readonly #options: TransportOptions;
  readonly #link: NatsLink;
  readonly #setup: ListenerSetup;
  readonly #client: RpcClient;
  readonly #counters: NatsCounters = { refused: 0, malformed: 0 };
  /** Served subjects and subscriptions, closed with the transport. */
  readonly #listeners = new Set<{ close(): Promise<void> }>();
  readonly #closing = new CloseOrder('nats');

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#link = new NatsLink(options.natsUrl, options.natsPrefix, options.logger);
    this.#setup = {
      link: this.#link,
      subjects: new Subjects(options.natsPrefix),
      logger: options.logger,
      graceMs: options.shutdownGraceMs,
      limit: () => this.maxMessageBytes,
      counters: this.#counters,
      onClosed: (listener) => this.#listeners.delete(listener),
    };
    this.#client = new RpcClient(options, this.#setup);
  }

  /** The smaller of options.maxMessageBytes and the server's max_payload, once connected. */
  get maxMessageBytes(): number {
    return Math.min(this.#options.maxMessageBytes, this.#link.maxPayload ?? Infinity);
  }

  async request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    this.#closing.assertCalling();
    return this.#client.request(service, method, payload, options);
  }

  async publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    this.#closing.assertCalling();
    // An event has no caller-given deadline; the default one bounds waiting for the server.
    const deadline = Date.now() + this.#options.defaultTimeoutMs;
    const publishing = new PublishCall('nats', service, topic, options?.parent);
    await publishing.track(publishEvent(this.#setup, { service, topic, payload: event }, publishing, deadline));
  }

  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const listener = new ServedSubject(this.#setup, service, handlers);
    await this.#start(listener);
    return listener;
  }

  async subscribe(
    service: string,
    topic: string,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#closing.assertServing();
    const subscription = new EventSubscription(this.#setup, { service, topic, group: options?.group, handler });
    await this.#start(subscription);
    return subscription;
  }

  counters(): Record<string, number> {
    return { ...this.#counters, ...this.#link.stats };
  }

  close(): Promise<void> {
    return this.#closing.close(
      () => Promise.all([...this.#listeners].map((listener) => listener.close())),
      async () => {
        this.#client.close(this.#link.closedError());
        await this.#link.close();
      },
    );
  }

  /** Registered before it starts, so a close() meanwhile closes it too. */
  async #start(listener: ServedSubject | EventSubscription): Promise<void> {
    this.#listeners.add(listener);
    try {
      await listener.start(Date.now() + this.#options.defaultTimeoutMs);
    } catch (err) {
      await listener.close();
      throw err;
    }
  }
}
