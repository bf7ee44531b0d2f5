/**
 * The life of a service process, the same for every service:
 *
 *   start   read config → telemetry (traces and metrics, @chirp/telemetry) → JSON logger →
 *           transport → admin port (/healthz, /readyz, /metrics, /traces) → the service's own
 *           start (open its database, serve its handlers) → ready
 *   stop    on SIGTERM/SIGINT: not ready any more (load balancers stop sending), listeners
 *           stop taking work and finish what is in flight, the service drains what it still
 *           has to send (while the transport is open), the transport closes, the service
 *           closes its resources (database last, so nothing is half-written), spans still
 *           batched are exported, the process exits 0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerTelemetry, startTelemetry, traceFields } from '@chirp/telemetry';
import { createTransport, type Handlers, type Listener, type RoutedTransport } from '@chirp/transport';
import { pino, type Logger } from 'pino';
import type { RuntimeConfig } from './config.js';

export interface Runtime {
  config: RuntimeConfig;
  logger: Logger;
  transport: RoutedTransport;
  /** Serve the service's handlers on its transport. */
  serve(handlers: Handlers): Promise<Listener>;
}

/** What a service's start returns: how to release what it opened, and its own counters. */
export interface Started {
  /**
   * Called on stop once the listeners have finished their last call, while the transport is
   * still open: send what must still go out (posts' pending events).
   */
  drain?(): Promise<void>;
  /** Release what start opened (the database last); the transport is closed by now. */
  close(): Promise<void>;
  /** Read on every /metrics scrape, each as `chirp_<name>` (e.g. notify's open sockets); `_total`: a counter. */
  counters?(): Record<string, number>;
}

export interface RunningService {
  adminAddress: string;
  /** Where the service's handlers listen (host:port; the queue name on AMQP). */
  listening(): string[];
  runtime: Runtime;
  /** Graceful stop; resolves when everything is closed. Safe to call twice. */
  stop(): Promise<void>;
}

export async function runService(
  config: RuntimeConfig,
  start: (runtime: Runtime) => Promise<Started>,
  options: { handleSignals?: boolean; logger?: Logger } = {},
): Promise<RunningService> {
  // Every line names the trace of the call it was written in (traceFields).
  const logger = options.logger ?? pino({ name: config.service, level: config.logLevel, mixin: traceFields });
  const telemetry = startTelemetry({ service: config.service, env: config.otel ?? {}, logger });
  const transport = createTransport(config.transport, logger);
  // `posts` → every replica's address (compose --scale), followed while running (REPLICA_REFRESH_MS)
  await transport.resolveReplicas();
  let ready = false;

  const admin = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, { status: 'ok', service: config.service });
    if (path === '/readyz') {
      return send(res, ready ? 200 : 503, {
        ready,
        service: config.service,
        transport: transport.kindOf(config.service),
      });
    }
    answerTelemetry(telemetry, req, res).then(
      (answered) => answered || send(res, 404, { error: 'not found: try /healthz, /readyz, /metrics or /traces' }),
      (err: unknown) => {
        logger.error({ err }, 'admin: could not answer');
        send(res, 500, { error: 'internal error' });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(config.admin.port, config.admin.host, resolve);
  });
  const bound = admin.address() as AddressInfo;

  const listeners: Listener[] = [];
  const runtime: Runtime = {
    config,
    logger,
    transport,
    serve: async (handlers) => {
      const listener = await transport.serve(config.service, handlers);
      listeners.push(listener);
      return listener;
    },
  };

  let service: Started;
  try {
    service = await start(runtime);
    if (service.counters) telemetry.metrics.addFigures(service.counters);
    // The transports' own tallies: refused connections, timeouts, retransmissions (factory.ts counters()).
    telemetry.metrics.addFigures(() => transport.counters());
  } catch (err) {
    await transport.close();
    admin.close();
    throw err;
  }
  ready = true;
  logger.info(
    {
      transport: transport.kindOf(config.service),
      listening: listeners.map((l) => l.address),
      admin: `${bound.address}:${bound.port}`,
      tracing: telemetry.tracing ? (telemetry.exportsTo ?? 'kept in memory (GET /traces)') : 'off',
    },
    `${config.service} ready`,
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      ready = false;
      logger.info({}, `${config.service} stopping`);
      // Every step runs even if one before it failed: a transport that fails to close must not
      // leave the database pool open. The first failure is thrown once all have run.
      const failures: unknown[] = [];
      const step = async (what: string, run: () => Promise<unknown>) => {
        try {
          await run();
        } catch (err) {
          logger.error({ err }, `${config.service}: ${what} failed while stopping`);
          failures.push(err);
        }
      };
      await step('closing its listeners', () => Promise.all(listeners.map((l) => l.close())));
      await step('draining', async () => service.drain?.());
      await step('closing the transport', () => transport.close());
      await step('closing the service', () => service.close());
      await step('closing the admin server', () => new Promise((resolve) => admin.close(resolve)));
      await step('flushing telemetry', () => telemetry.flush());
      if (failures.length > 0) throw failures[0];
      logger.info({}, `${config.service} stopped`);
    })());

  if (options.handleSignals) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  }
  return {
    adminAddress: `${bound.address}:${bound.port}`,
    listening: () => listeners.map((l) => l.address),
    runtime,
    stop,
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
