/**
 * Events: published persistent to the topic exchange and confirmed by the broker, so a
 * resolved publish() means the broker has the event (on disk, for a durable queue). Each
 * subscriber reads its own queue bound to `<service>.<topic>`; the members of a group share
 * one durable queue, so each event goes to one of them and waits there while none is up.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { TransportError, unavailable } from '../errors.js';
import { deliver } from '../dispatch.js';
import { checkSize, type TransportOptions } from '../options.js';
import type { EventHandler, Subscription } from '../transport.js';
import { LazyChannel, logChannelErrors, sendError, type AmqpConnection } from './connection.js';
import { QueueConsumer, type ConsumerSetup, type Verdict } from './consumer.js';
import type { PublishCall, TraceCarrier } from '../tracing.js';
import { encodeBody } from '../json-body.js';
import { decodeEvent, traceHeaders, type Topology } from './topology.js';

export class EventPublisher {
  readonly #options: TransportOptions;
  readonly #topology: Topology;
  readonly #channel: LazyChannel<ConfirmChannel>;

  constructor(options: TransportOptions, connection: AmqpConnection, topology: Topology) {
    this.#options = options;
    this.#topology = topology;
    this.#channel = new LazyChannel(connection, (model) => this.#open(model));
  }

  /** Resolves once the broker confirms the event; fails with UNAVAILABLE or DEADLINE_EXCEEDED after `deadline`. */
  async publish(
    service: string,
    topic: string,
    event: unknown,
    publishing: PublishCall,
    deadline: number,
  ): Promise<void> {
    const content = encodeBody(event);
    checkSize(content.length, this.#options.maxMessageBytes, `event ${service}.${topic}`);
    publishing.sent(undefined, content.length);
    const channel = await this.#channel.get(deadline);
    const what = `amqp: event ${service}.${topic}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          reject(new TransportError('DEADLINE_EXCEEDED', `${what}: the broker did not confirm it in time`));
        },
        Math.max(1, deadline - Date.now()),
      );
      const confirmed = (err: unknown): void => {
        clearTimeout(timer);
        // A nack or a channel that closed first: the event may or may not have been routed.
        if (err) reject(unavailable(`${what} not confirmed by the broker`, err));
        else resolve();
      };
      try {
        channel.publish(
          this.#topology.eventsExchange,
          this.#topology.routingKey(service, topic),
          content,
          {
            persistent: true,
            contentType: 'application/json',
            headers: traceHeaders(publishing.carrier),
          },
          confirmed,
        );
      } catch (err) {
        clearTimeout(timer);
        reject(sendError(what, err));
      }
    });
  }

  close(): Promise<void> {
    return this.#channel.close();
  }

  async #open(model: ChannelModel): Promise<ConfirmChannel> {
    const channel = await model.createConfirmChannel();
    logChannelErrors(channel, this.#options.logger, 'publish');
    // Publishing to a missing exchange closes the channel; declaring it is idempotent.
    await this.#topology.declareEvents(channel);
    return channel;
  }
}

export class EventSubscription extends QueueConsumer implements Subscription {
  readonly #topology: Topology;
  readonly #service: string;
  readonly #topic: string;
  readonly #group: string | undefined;
  readonly #handler: EventHandler;

  constructor(
    setup: ConsumerSetup,
    topology: Topology,
    subscription: { service: string; topic: string; group: string | undefined; handler: EventHandler },
  ) {
    const { service, topic, group } = subscription;
    super(setup, `subscribe ${service}.${topic}${group === undefined ? '' : ` (group ${group})`}`);
    this.#topology = topology;
    this.#service = service;
    this.#topic = topic;
    this.#group = group;
    this.#handler = subscription.handler;
  }

  protected declare(channel: Channel): Promise<string> {
    return this.#topology.declareSubscriberQueue(channel, this.#service, this.#topic, this.#group);
  }

  protected async handle(_channel: Channel, message: ConsumeMessage): Promise<Verdict> {
    let event: { trace: TraceCarrier; payload: unknown };
    try {
      event = decodeEvent(message, this.maxMessageBytes);
    } catch (err) {
      this.logger.warn({ err, topic: this.#topic }, 'amqp: malformed event dead-lettered');
      return 'dead-letter';
    }
    const topic = this.#topology.topicOf(this.#service, message.fields.routingKey);
    const incoming = { transport: 'amqp' as const, service: this.#service, topic, trace: event.trace };
    return (await deliver(this.#handler, event.payload, incoming, this.logger)) ? 'ack' : 'dead-letter';
  }
}
