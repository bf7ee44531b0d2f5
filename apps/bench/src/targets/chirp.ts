/**
 * The four Chirp transports as targets: the real `createTransport` with a config for one
 * kind, serving a `bench` service whose handlers answer echo and verify. Everything a
 * service call pays for is on the path: envelopes, the pending map and its deadline
 * timers, trace ids, dispatch, error mapping. (Contract validation is not: these calls go
 * through the bare Transport, so the ratio to the baseline is the transport layer's own.)
 * The plain targets run without TRANSPORT_SECRET, like HTTP and AMQP (which sign nothing
 * either), so the four compare on equal terms; `signed` runs TCP or UDP with it set, every
 * frame and datagram signed and checked, to show what that costs. The plain targets run
 * without telemetry too (no SDK: spans cost next to nothing); `traced` runs it, to price it.
 */
import { createHash } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { createTransport, DEFAULT_TRANSPORT_CONFIG, type TransportKind, type TransportConfig } from '@chirp/transport';
import { propagateContext, startTelemetry } from '@chirp/telemetry';
import { answer, type Target, type TargetContext, type TargetName, type TracingMode } from './target.js';

const SERVICE = 'bench';
function configFor(kind: TransportKind, context: TargetContext, addresses: string[], signed: boolean): TransportConfig {
  return {
    ...DEFAULT_TRANSPORT_CONFIG,
    transport: kind,
    amqpUrl: context.amqpUrl,
    amqpPrefix: context.amqpPrefix,
    natsUrl: context.natsUrl,
    natsPrefix: context.amqpPrefix,
    defaultTimeoutMs: context.timeoutMs,
    shutdownGraceMs: 1_000,
    services: { [SERVICE]: { addresses, listen: '127.0.0.1:0' } },
    // Both halves (separate processes) derive the same secret from the run's unique prefix.
    ...(signed && { secret: createHash('sha256').update(`chirp bench ${context.amqpPrefix}`).digest('hex') }),
  };
}

export function chirpTarget(kind: TransportKind, description: string): Target {
  return chirpTargetNamed(kind, kind, description);
}

export function signedTarget(kind: 'tcp' | 'udp', description: string): Target {
  return chirpTargetNamed(
    `${kind}+secret`,
    kind,
    `${description}; every message HMAC-signed and replay-checked (TRANSPORT_SECRET set)`,
    { signed: true },
  );
}

/**
 * The transport with telemetry on in its server process, started as a service starts it. The
 * caller's half is the load generator's, which turns its own telemetry on around each measured
 * run (workloads/telemetry.ts): it is global to the process, and the other targets run without.
 */
export function tracedTarget(kind: TransportKind, mode: TracingMode, description: string): Target {
  const what = {
    context: 'telemetry off but for the AsyncLocalStorage context manager',
    untraced: 'telemetry on, no call traced',
    kept: 'telemetry on, one call in 100 traced, its spans kept in the process and not exported',
    sampled: 'telemetry on, one call in 100 traced',
    traced: 'telemetry on, every call traced',
  }[mode];
  return chirpTargetNamed(`${kind}+${mode}`, kind, `${description}; ${what}`, { tracing: mode });
}

/**
 * One process's side of a tracing mode, started as a service starts its telemetry (the sampler
 * decides at the caller; spans exported to `otlpEndpoint`, but for `kept`); returns how to stop it.
 */
export function startTracing(
  mode: TracingMode,
  service: string,
  otlpEndpoint: string | undefined,
): () => Promise<void> {
  if (mode === 'context') {
    const unpropagate = propagateContext();
    return () => Promise.resolve(unpropagate());
  }
  const telemetry = startTelemetry({
    service,
    env: {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: { untraced: '0', kept: '0.01', sampled: '0.01', traced: '1' }[mode],
      ...(otlpEndpoint !== undefined && mode !== 'kept' && { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint }),
    },
  });
  return () => telemetry.stop();
}

function chirpTargetNamed(
  name: TargetName,
  kind: TransportKind,
  description: string,
  options: { signed?: boolean; tracing?: TracingMode } = {},
): Target {
  const signed = options.signed === true;
  return {
    name,
    description,
    async serve(context) {
      const stopTracing =
        options.tracing === undefined ? undefined : startTracing(options.tracing, 'bench-server', context.otlpEndpoint);
      const transport = createTransport(configFor(kind, context, [], signed));
      const listener = await transport.serve(SERVICE, {
        echo: (payload) => answer('echo', payload),
        verify: (payload) => answer('verify', payload),
      });
      return {
        address: listener.address,
        async close() {
          await listener.close();
          await transport.close();
          await stopTracing?.();
          if (kind === 'amqp') await deleteAmqpTopology(context);
        },
      };
    },
    async connect(address, context) {
      const transport = createTransport(configFor(kind, context, [address], signed));
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
