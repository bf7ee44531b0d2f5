import { connect } from '@nats-io/transport-node';
import { brokerHost, type TransportDescriptor } from '../descriptor.js';
import { NatsTransport } from './index.js';

export const nats = {
  kind: 'nats',
  description: 'NATS: request/reply on a subject per service, queue groups; events on subjects, best effort',
  brokered: true,
  maxMessageBytes: 1024 * 1024, // and never over the server's max_payload (index.ts)
  settings: {
    NATS_URL: 'the server(s), default nats://127.0.0.1:4222',
    NATS_PREFIX: 'first token of every subject, default chirp',
  },
  async probe(config, timeoutMs) {
    try {
      await (await connect({ servers: config.natsUrl.split(','), timeout: timeoutMs, reconnect: false })).close();
      return undefined;
    } catch {
      return (
        `NATS at ${brokerHost(config.natsUrl)} is not reachable: start it (\`nats-server -js\`, ` +
        `or \`docker compose up -d nats\`) or point NATS_URL at one`
      );
    }
  },
  where: (config, service) => `NATS ${brokerHost(config.natsUrl)}, subject ${config.natsPrefix}.rpc.${service}`,
  create: (options) => new NatsTransport(options),
} as const satisfies TransportDescriptor;
