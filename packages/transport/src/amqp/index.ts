/**
 * AMQP transport: amqplib against RabbitMQ. Names and message layout: topology.ts.
 *
 * Requests: one durable classic queue per service, consumed by every replica of it (competing
 * consumers), replies over direct reply-to. A request is a transient message, so no call waits
 * on a disk write: it is handled at most once per call, unless the consumer that took it died
 * before acking (its channel or process went away mid-work), in which case the broker
 * redelivers it to another replica and the handler may run twice. A request (or event) that
 * kills DELIVERY_LIMIT + 1 consumers in a row is dead-lettered instead, and a request is then
 * answered INTERNAL: request queues' consumers count redeliveries themselves (redelivery.ts),
 * a group's quorum queue has the broker count them (topology.ts). A reply travels back on the
 * caller's channel; if that channel or connection dies first, the reply is lost and the call
 * fails with UNAVAILABLE (the handler may or may not have run). A request to a queue with no
 * consumer is not an error: the broker keeps it until its deadline (the message expires then),
 * so a server that is restarting picks it up (not through a restart of the broker itself,
 * which loses transient messages, and its callers' channels anyway); only a service nobody
 * ever served (no queue) fails at once with UNAVAILABLE. Messages a server cannot read are
 * answered with INVALID_ARGUMENT (over maxMessageBytes: RESOURCE_EXHAUSTED) and dead-lettered
 * to `<prefix>.dead`, as are requests that expired unserved.
 *
 * Events: persistent messages on a durable topic exchange, confirmed by the broker before
 * publish() resolves (an event nobody subscribes to is confirmed and dropped). A subscriber
 * acks after its handler succeeds, so an event reaches each subscriber queue at least once:
 * one whose consumer died before acking is redelivered. A failing handler's event is
 * dead-lettered, not retried. Ungrouped subscribers have a queue that lives with their
 * connection (events published while they reconnect are missed); a group's queue is durable
 * and keeps events through restarts of its members and of the broker. Order is kept per
 * queue: events are delivered in publish order, though handlers run concurrently (up to the
 * prefetch), so they may finish out of order.
 *
 * Limits: bodies over maxMessageBytes (1 MiB by default) are refused with RESOURCE_EXHAUSTED
 * before they are sent; a reply over it becomes a RESOURCE_EXHAUSTED reply.
 *
 * Connection: one per transport (connection.ts), re-made with backoff when lost; served
 * queues and subscriptions are re-created on it, and calls made meanwhile wait for it
 * within their deadline.
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
import { AmqpConnection } from './connection.js';
import type { ConsumerSetup, QueueConsumer } from './consumer.js';
import { EventPublisher, EventSubscription } from './events.js';
import { ServedQueue } from './server.js';
import { Topology } from './topology.js';

export class AmqpTransport implements Transport {
  readonly kind = 'amqp' as const;
  readonly maxMessageBytes: number;
  readonly #options: TransportOptions;
  readonly #connection: AmqpConnection;
  readonly #topology: Topology;
  readonly #client: RpcClient;
  readonly #publisher: EventPublisher;
  /** Served queues and subscriptions, closed with the transport. */
  readonly #consumers = new Set<QueueConsumer>();
  readonly #closing = new CloseOrder('amqp');

  constructor(options: TransportOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes;
    this.#topology = new Topology(options.amqpPrefix);
    this.#connection = new AmqpConnection(options.amqpUrl, options.amqpPrefix, options.logger);
    this.#client = new RpcClient(options, this.#connection, this.#topology);
    this.#publisher = new EventPublisher(options, this.#connection, this.#topology);
  }

  /** This transport's connection as the broker lists it (client property connection_name). */
  get connectionName(): string {
    return this.#connection.name;
  }

  async request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    this.#closing.assertCalling();
    return this.#client.request(service, method, payload, options);
  }

  async publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    this.#closing.assertCalling();
    // An event has no caller-given deadline; the default one bounds waiting for the broker.
    const deadline = Date.now() + this.#options.defaultTimeoutMs;
    const publishing = new PublishCall('amqp', service, topic, options?.parent);
    await publishing.track(this.#publisher.publish(service, topic, event, publishing, deadline));
  }

  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const listener = new ServedQueue(this.#setup(), this.#options, this.#topology, service, handlers);
    await this.#connection.keep(listener, Date.now() + this.#options.defaultTimeoutMs);
    this.#consumers.add(listener);
    return listener;
  }

  async subscribe(
    service: string,
    topic: string,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#closing.assertServing();
    this.#topology.checkSubscribable(service);
    const subscription = new EventSubscription(this.#setup(), this.#topology, {
      service,
      topic,
      group: options?.group,
      handler,
    });
    await this.#connection.keep(subscription, Date.now() + this.#options.defaultTimeoutMs);
    this.#consumers.add(subscription);
    return subscription;
  }

  close(): Promise<void> {
    return this.#closing.close(
      () => Promise.all([...this.#consumers].map((consumer) => consumer.close())),
      async () => {
        await this.#client.close();
        await this.#publisher.close();
        await this.#connection.close();
      },
    );
  }

  #setup(): ConsumerSetup {
    return {
      connection: this.#connection,
      logger: this.#options.logger,
      graceMs: this.#options.shutdownGraceMs,
      maxMessageBytes: this.#options.maxMessageBytes,
      onClosed: (consumer) => this.#consumers.delete(consumer),
    };
  }
}
