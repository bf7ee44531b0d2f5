import { brokerHost, type TransportDescriptor } from '../descriptor.js';
import { connect } from 'amqplib';
import { AmqpTransport } from './index.js';

export const amqp = {
  kind: 'amqp',
  description: 'RabbitMQ: a queue per service, direct reply-to; events on a topic exchange, confirmed',
  brokered: true,
  maxMessageBytes: 1024 * 1024, // RabbitMQ allows far more, but large messages stall a queue
  settings: {
    AMQP_URL: 'the broker, default amqp://guest:guest@127.0.0.1:5672',
    AMQP_PREFIX: 'queue and exchange name prefix, default chirp',
  },
  where: (config, service) => `RabbitMQ ${brokerHost(config.amqpUrl)}, queue ${config.amqpPrefix}.${service}`,
  async probe(config, timeoutMs) {
    try {
      await (await connect(config.amqpUrl, { timeout: timeoutMs })).close();
      return undefined;
    } catch {
      return (
        `RabbitMQ at ${brokerHost(config.amqpUrl)} is not reachable: start it (\`rabbitmq-server -detached\`, ` +
        `or \`docker compose up -d rabbitmq\`) or point AMQP_URL at one`
      );
    }
  },
  create: (options) => new AmqpTransport(options),
} as const satisfies TransportDescriptor;
