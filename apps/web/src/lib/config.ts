/**
 * The web app's settings, read from the environment once per process.
 *
 * Which transport each service is reached on, and where, is the same env every service reads
 * (TRANSPORT, <SERVICE>_TRANSPORT, <SERVICE>_ADDR, AMQP_URL, AMQP_PREFIX, REQUEST_TIMEOUT_MS; see
 * packages/transport/src/config.ts), handed to the transport by services.ts via `processEnv()`; so
 * are OpenTelemetry's OTEL_* variables (telemetry.ts) and the services' admin addresses
 * (<SERVICE>_ADMIN_ADDR, trace-tree.ts). Web's own:
 *   NOTIFY_URL     the WebSocket URL browsers open for live updates, default ws://localhost:4104/ws
 *                  (notify's NOTIFY_ALLOWED_ORIGINS must list this app's origin).
 *   COOKIE_SECURE  true|false: force the session cookie's Secure flag. Default: Secure when
 *                  NODE_ENV=production, except for plain http to a loopback host (the local demo
 *                  and the browser tests), where a browser would refuse to send it back.
 *   ADMIN_HOST, ADMIN_PORT  where /healthz and /metrics are served, default 127.0.0.1:4000
 *                  (the app's port + 1000, as for every service; 0: any free port).
 */
// No @chirp/* imports here: proxy.ts (the CSP) reads this file too, and must stay small.

export interface WebConfig {
  notifyUrl: string;
  admin: { host: string; port: number };
  /** undefined: decide per request (see cookieSecure in session.ts). */
  cookieSecure: boolean | undefined;
  production: boolean;
}

export const DEFAULT_NOTIFY_URL = 'ws://localhost:4104/ws';
export const DEFAULT_ADMIN_PORT = 4000;

export function webConfigFromEnv(env: Record<string, string | undefined>): WebConfig {
  return {
    notifyUrl: notifyUrl(env.NOTIFY_URL ?? DEFAULT_NOTIFY_URL),
    admin: {
      host: env.ADMIN_HOST ?? '127.0.0.1',
      port: port(env.ADMIN_PORT ?? String(DEFAULT_ADMIN_PORT), 'ADMIN_PORT'),
    },
    cookieSecure: flag(env.COOKIE_SECURE, 'COOKIE_SECURE'),
    production: env.NODE_ENV === 'production',
  };
}

let cached: WebConfig | undefined;

/** This process's settings (read on first use, so `next build` never needs them). */
export function webConfig(): WebConfig {
  cached ??= webConfigFromEnv(process.env);
  return cached;
}

/** The environment the transport, telemetry and trace settings are parsed from, read here like the rest. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

function port(value: string, variable: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${variable}=${value} is not a port number`);
  return n;
}

function notifyUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`NOTIFY_URL=${value} is not a URL: use ws://host:port/ws or wss://host/ws`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`NOTIFY_URL=${value} must start with ws:// or wss://`);
  }
  return url.toString();
}

function flag(value: string | undefined, variable: string): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`${variable}=${value} must be true or false`);
}
