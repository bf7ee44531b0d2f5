/**
 * The settings every service process reads from its environment (its own settings,
 * such as a database URL, are read by the service next to these).
 *
 *   LOG_LEVEL     pino level, default info
 *   ADMIN_HOST    host of the health/metrics port, default 127.0.0.1
 *   ADMIN_PORT    default: the service's port + 1000 (auth 5101, posts 5102, follows 5103, notify 5104)
 *   OTEL_*        OpenTelemetry's own variables, read by @chirp/telemetry (setup.ts)
 *   + the transport variables of @chirp/transport (TRANSPORT, <SERVICE>_ADDR, AMQP_URL, …)
 */
import { DEFAULT_PORTS, chirpTransportConfig } from '@chirp/contracts';
import type { TransportConfig } from '@chirp/transport';

export interface RuntimeConfig {
  service: string;
  logLevel: string;
  admin: { host: string; port: number };
  transport: TransportConfig;
  /** The OTEL_* variables, for @chirp/telemetry; none: its defaults. */
  otel?: Record<string, string | undefined>;
}

export const ADMIN_PORT_OFFSET = 1000;

export function runtimeConfigFromEnv(service: string, env: Record<string, string | undefined>): RuntimeConfig {
  const servicePort = DEFAULT_PORTS[service];
  if (servicePort === undefined) throw new Error(`unknown service ${service}`);
  const adminPort = env.ADMIN_PORT === undefined ? servicePort + ADMIN_PORT_OFFSET : Number(env.ADMIN_PORT);
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) {
    throw new Error(`ADMIN_PORT=${env.ADMIN_PORT} is not a port number`);
  }
  return {
    service,
    logLevel: env.LOG_LEVEL ?? 'info',
    admin: { host: env.ADMIN_HOST ?? '127.0.0.1', port: adminPort },
    transport: chirpTransportConfig(env),
    otel: Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('OTEL_'))),
  };
}
