/**
 * The four Chirp transports as targets: the real `createTransport` with a config for one
 * kind, serving a `bench` service whose handlers answer echo and verify. Everything a
 * service call pays for is on the path: envelopes, the pending map and its deadline
 * timers, trace ids, dispatch, error mapping. (Contract validation is not: these calls go
 * through the bare Transport, so the ratio to the baseline is the transport layer's own.)
 * TCP and UDP run with TRANSPORT_SECRET set, as a deployment should: every frame and
 * datagram is signed and checked, and the target's description in the report says so.
 */
import { createHash } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { createTransport, DEFAULT_TRANSPORT_CONFIG, type TransportKind, type TransportConfig } from '@chirp/transport';
import { answer, type Target, type TargetContext } from './target.js';

const SERVICE = 'bench';
/** The transports a TRANSPORT_SECRET applies to. */
const SIGNED: readonly TransportKind[] = ['tcp', 'udp'];

function configFor(kind: TransportKind, context: TargetContext, addresses: string[]): TransportConfig {
  return {
    ...DEFAULT_TRANSPORT_CONFIG,
    transport: kind,
    amqpUrl: context.amqpUrl,
    amqpPrefix: context.amqpPrefix,
    defaultTimeoutMs: context.timeoutMs,
    shutdownGraceMs: 1_000,
    services: { [SERVICE]: { addresses, listen: '127.0.0.1:0' } },
    // Both halves (separate processes) derive the same secret from the run's unique prefix.
    secret: createHash('sha256').update(`chirp bench ${context.amqpPrefix}`).digest('hex'),
  };
}

export function chirpTarget(kind: TransportKind, description: string): Target {
  return {
    name: kind,
    description: SIGNED.includes(kind)
      ? `${description}; every message HMAC-signed and replay-checked (TRANSPORT_SECRET set)`
      : description,
    async serve(context) {
      const transport = createTransport(configFor(kind, context, []));
      const listener = await transport.serve(SERVICE, {
        echo: (payload) => answer('echo', payload),
        verify: (payload) => answer('verify', payload),
      });
      return {
        address: listener.address,
        async close() {
          await listener.close();
          await transport.close();
          if (kind === 'amqp') await deleteAmqpTopology(context);
        },
      };
    },
    async connect(address, context) {
      const transport = createTransport(configFor(kind, context, [address]));
      return {
        call: (method, payload) => transport.request(SERVICE, method, payload),
        close: () => transport.close(),
      };
    },
  };
}

/** The transport declares durable names (topology.ts); a benchmark run leaves none behind. */
async function deleteAmqpTopology(context: TargetContext): Promise<void> {
  const model = await amqpConnect(context.amqpUrl);
  try {
    const channel = await model.createChannel();
    await channel.deleteQueue(`${context.amqpPrefix}.rpc.${SERVICE}`);
    await channel.deleteQueue(`${context.amqpPrefix}.dead`);
    await channel.deleteExchange(`${context.amqpPrefix}.dlx`);
  } finally {
    await model.close();
  }
}
