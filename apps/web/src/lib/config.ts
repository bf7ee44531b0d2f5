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
 *   SESSION_CACHE_MS  how long a verified session token is taken on trust before auth is asked
 *                  again, default 1000 (0: ask auth on every request); see viewer.ts.
 *   WEB_TRUSTED_PROXIES  comma list of the addresses or CIDR ranges (10.0.0.0/8, ::1) of reverse
 *                  proxies in front of this app, default none. Only a request whose peer is one of
 *                  them has its X-Forwarded-For (the client's address, which auth's throttles
 *                  count), X-Forwarded-Host (the Origin check) and X-Forwarded-Proto believed;
 *                  from anyone else those headers are dropped (see forwarding.ts).
 */
// No @chirp/* imports here: proxy.ts (the CSP) reads this file too, and must stay small.
import { isIP } from 'node:net';

export interface WebConfig {
  notifyUrl: string;
  admin: { host: string; port: number };
  sessionCacheMs: number;
  /** undefined: decide per request (see cookieSecure in session.ts). */
  cookieSecure: boolean | undefined;
  production: boolean;
  /** Addresses and CIDR ranges whose forwarding headers are believed; [] = none. */
  trustedProxies: string[];
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
    sessionCacheMs: milliseconds(env.SESSION_CACHE_MS ?? '1000', 'SESSION_CACHE_MS'),
    cookieSecure: flag(env.COOKIE_SECURE, 'COOKIE_SECURE'),
    production: env.NODE_ENV === 'production',
    trustedProxies: trustedProxies(env.WEB_TRUSTED_PROXIES ?? ''),
  };
}

/** Where the web server listens, and whether Next.js runs in development mode: `server.ts`'s command line. */
export interface ServerOptions {
  port: number;
  hostname: string;
  dev: boolean;
}

/**
 * `--port N`, `--hostname H` (or `-p`, `-H`, as `next start` takes them), `--dev`; else PORT
 * (default 3000) and every interface. (Not HOSTNAME: shells and containers set it to the
 * machine's name.)
 */
export function serverOptionsFrom(argv: string[], env: Record<string, string | undefined>): ServerOptions {
  const options: ServerOptions = {
    port: port(env.PORT ?? '3000', 'PORT'),
    hostname: '0.0.0.0',
    dev: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--dev') options.dev = true;
    else if (arg === '--port' || arg === '-p') options.port = port(argv[++i] ?? '', arg);
    else if (arg === '--hostname' || arg === '-H') options.hostname = argv[++i] ?? options.hostname;
    else throw new Error(`unknown argument ${arg}: use --port N, --hostname H, --dev`);
  }
  return options;
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

function milliseconds(value: string, variable: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) throw new Error(`${variable}=${value} must be 0 to 60000 ms`);
  return n;
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

function trustedProxies(value: string): string[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const valid =
      family !== 0 &&
      extra === undefined &&
      (prefix === undefined || (/^\d+$/.test(prefix) && bits! <= (family === 4 ? 32 : 128)));
    if (!valid) {
      throw new Error(`WEB_TRUSTED_PROXIES: ${entry} is not an address or CIDR range (e.g. 10.0.0.0/8,127.0.0.1,::1)`);
    }
  }
  return entries;
}

function flag(value: string | undefined, variable: string): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`${variable}=${value} must be true or false`);
}
