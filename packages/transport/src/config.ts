/**
 * Which transport each service is reached on, and where: read from the environment once,
 * by the process (its own config.ts passes `process.env` in), never deeper in the code.
 *
 *   TRANSPORT=http|amqp|tcp|udp|nats    every service (default http)
 *   TRANSPORT=<preset>                  a named per-service setup the application passes in (Chirp's
 *                                       `mixed`, in @chirp/contracts: auth over TCP, posts and follows
 *                                       over AMQP, posts' events over UDP; the rest http)
 *   <SERVICE>_TRANSPORT=…               one service, e.g. AUTH_TRANSPORT=tcp
 *   <SERVICE>_EVENTS_TRANSPORT=…        the service's published events, if not on its own transport
 *   <SERVICE>_ADDR=host:port[,…]        where callers reach it (HTTP, TCP, UDP); several = load balancing
 *   <SERVICE>_LISTEN=host:port          where it binds when serving (default: the port of the first address, on
 *                                       127.0.0.1 when every address is a loopback one — the default — else on
 *                                       all interfaces)
 *   COMPARE_TRANSPORTS=http,tcp,udp,amqp  every service also serves its handlers on these transports, besides its
 *                                       own, so one action can be run over each in turn (the Transports page's
 *                                       comparison; factory.ts `via`); default none (npm start: http, tcp and udp,
 *                                       and amqp when RabbitMQ answers)
 *   <SERVICE>_<KIND>_ADDR=host:port[,…] where it is reached on such an extra transport (HTTP, TCP, UDP), e.g.
 *                                       POSTS_TCP_ADDR; default the host of its first address and that port
 *                                       + 10 (http), + 20 (tcp) or + 30 (udp): posts 4102 → tcp 4122
 *   AMQP_URL                            default amqp://guest:guest@127.0.0.1:5672
 *   AMQP_PREFIX                         queue and exchange name prefix, default chirp
 *   NATS_URL                            default nats://127.0.0.1:4222 (several: comma-separated)
 *   NATS_PREFIX                         first token of every NATS subject, default chirp
 *   REQUEST_TIMEOUT_MS                  default deadline of a call, default 5000
 *   MAX_MESSAGE_BYTES                   override every transport's limit (defaults below)
 *   SUBSCRIPTION_TTL_MS                 HTTP/UDP event registrations expire unless renewed (every third of it), default 6000
 *   REPLICA_REFRESH_MS                  HTTP/TCP/UDP: host names in <SERVICE>_ADDR are resolved again this often (and
 *                                       soon after a replica fails, at most once a second), so replicas that come and go
 *                                       are followed without restarting callers (replicas.ts), default 5000; 0: resolved
 *                                       once, at start
 *   TRANSPORT_SECRET                    shared secret, at least 32 bytes: every HTTP request (calls, webhook
 *                                       registrations, events), TCP frame and UDP datagram is signed
 *                                       (HMAC-SHA256) and checked, with a ±30 s replay window (signing.ts);
 *                                       unset or empty: HTTP, TCP and UDP are unauthenticated, and a warning says so
 *   TRANSPORT_SECRET_FILE               a file holding the secret (surrounding whitespace ignored), read when
 *                                       TRANSPORT_SECRET is unset or empty: docker compose's generated secret;
 *                                       a file that is missing, unreadable or empty stops the process at start
 *   TCP_TLS_CERT, TCP_TLS_KEY           PEM files: TCP servers speak TLS (node:tls), HTTP servers HTTPS, with this certificate and key
 *   TCP_TLS_CA                          PEM file: the CA TCP clients trust for servers' certificates; TCP clients
 *                                       speak TLS when this or TCP_TLS_CERT is set, and always verify the server
 *                                       (against this CA, else Node's default CAs)
 *   TCP_MAX_CONNECTIONS                 connections a process's TCP servers hold at once, default 1024;
 *                                       one more is closed on arrival (and counted)
 *   TCP_MAX_CONNECTIONS_PER_PEER        the same, from one peer address, default 64
 *   TCP_HELLO_TIMEOUT_MS                a new connection's first frame (the hello, or without a secret
 *                                       its first message) must arrive within this, default 10000
 *   TCP_FRAME_TIMEOUT_MS                a frame once started must be complete within this, default 30000
 *   TCP_IDLE_TIMEOUT_MS                 a connection with no frame, no call in flight and no subscription
 *                                       for this long is closed, default 300000; clients close their
 *                                       own idle connections first, after a third to two thirds of it
 *   TCP_FIRST_FRAME_BYTES               without a secret, the most a connection's first frame may hold,
 *                                       default 4096 (with a secret, exactly a hello's 57 bytes)
 */
import { readFileSync } from 'node:fs';
import { formatHostPort, parseHostPort } from './endpoints.js';
import { secretBytes } from './signing.js';
import { TRANSPORT_KINDS, type TransportKind } from './transport.js';
import { TRANSPORTS } from './transports.js';
import { DEFAULT_TCP_LIMITS, type TcpLimits } from './tcp/limits.js';

export { DEFAULT_TCP_LIMITS, type TcpLimits };

export interface TransportConfig {
  transport: TransportKind;
  services: Record<string, ServiceConfig>;
  amqpUrl: string;
  amqpPrefix: string;
  natsUrl: string;
  natsPrefix: string;
  defaultTimeoutMs: number;
  maxMessageBytes: Record<TransportKind, number>;
  subscriptionTtlMs: number;
  /** How often host names in services' addresses are resolved again (replicas.ts); 0: once, at start. */
  replicaRefreshMs: number;
  shutdownGraceMs: number;
  /** Signs HTTP requests, TCP frames and UDP datagrams; undefined: unauthenticated. */
  secret?: string;
  /** TLS for TCP; undefined: plain TCP. */
  tcpTls?: TcpTlsFiles;
  /** What one TCP connection, and one peer, may hold on a server (tcp/limits.ts). */
  tcpLimits: TcpLimits;
}

/** Paths of PEM files. A server needs cert and key; a client uses TLS when ca or cert is set. */
export interface TcpTlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

export interface ServiceConfig {
  transport?: TransportKind;
  /** Where the service's events travel, when not on `transport`. */
  events?: TransportKind;
  addresses?: string[];
  listen?: string;
  /**
   * The other transports its handlers are also served on (COMPARE_TRANSPORTS), each with where it
   * is reached there (no address for AMQP, whose queue is named after the service).
   */
  also?: Partial<Record<TransportKind, string[]>>;
}

/** Per-transport message limits, as each transport's descriptor sets them (`<kind>/descriptor.ts`). */
export const DEFAULT_MAX_MESSAGE_BYTES = eachKind((kind) => TRANSPORTS[kind].maxMessageBytes);

/** `value(kind)` for every transport kind. */
function eachKind<T>(value: (kind: TransportKind) => T): Record<TransportKind, T> {
  return Object.fromEntries(TRANSPORT_KINDS.map((kind) => [kind, value(kind)])) as Record<TransportKind, T>;
}

export const DEFAULT_TRANSPORT_CONFIG: TransportConfig = {
  transport: 'http',
  services: {},
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
  amqpPrefix: 'chirp',
  natsUrl: 'nats://127.0.0.1:4222',
  natsPrefix: 'chirp',
  defaultTimeoutMs: 5_000,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  // Renewed every 2 s: a publisher that restarted (and forgot its registrations) is sending
  // events to its subscribers again within 2 s; a subscriber that vanished is forgotten in 6 s.
  subscriptionTtlMs: 6_000,
  // A replica added is taking calls within 5 s; one that vanished is dropped as soon as a call to it fails.
  replicaRefreshMs: 5_000,
  shutdownGraceMs: 10_000,
  tcpLimits: DEFAULT_TCP_LIMITS,
};

/**
 * Named setups for TRANSPORT=<name>, each service's transport (and its events'); services not
 * listed use http. The application names its own (Chirp's `mixed`: @chirp/contracts).
 */
export type TransportPresets = Record<string, Record<string, Pick<ServiceConfig, 'transport' | 'events'>>>;

export function parseTransportKind(value: string, variable: string, presets: TransportPresets = {}): TransportKind {
  const kind = value.trim().toLowerCase();
  if ((TRANSPORT_KINDS as readonly string[]).includes(kind)) return kind as TransportKind;
  const names = [...TRANSPORT_KINDS, ...Object.keys(presets)];
  throw new Error(`${variable}=${value} is not a transport: use one of ${names.join(', ')}`);
}

/**
 * Read the transport settings for `services` (their default ports give the localhost
 * defaults) from an environment; TRANSPORT may also name one of `presets`.
 */
export function transportConfigFromEnv(
  env: Record<string, string | undefined>,
  defaultPorts: Record<string, number>,
  presets: TransportPresets = {},
): TransportConfig {
  const named = env.TRANSPORT?.trim().toLowerCase() ?? '';
  const preset = Object.hasOwn(presets, named) ? presets[named] : undefined;
  const transport = preset
    ? DEFAULT_TRANSPORT_CONFIG.transport
    : env.TRANSPORT
      ? parseTransportKind(env.TRANSPORT, 'TRANSPORT', presets)
      : DEFAULT_TRANSPORT_CONFIG.transport;
  const services: Record<string, ServiceConfig> = {};
  for (const [service, port] of Object.entries(defaultPorts)) {
    const prefix = service.toUpperCase();
    const own = env[`${prefix}_TRANSPORT`];
    const events = env[`${prefix}_EVENTS_TRANSPORT`];
    const addresses = list(env[`${prefix}_ADDR`] ?? `127.0.0.1:${port}`);
    services[service] = {
      transport: own ? parseTransportKind(own, `${prefix}_TRANSPORT`) : (preset?.[service]?.transport ?? transport),
      ...(events
        ? { events: parseTransportKind(events, `${prefix}_EVENTS_TRANSPORT`) }
        : preset?.[service]?.events && !own
          ? { events: preset[service].events }
          : {}),
      addresses,
      ...(env[`${prefix}_LISTEN`] ? { listen: env[`${prefix}_LISTEN`] } : {}),
    };
  }
  for (const kind of compareKindsFromEnv(env)) {
    for (const [service, own] of Object.entries(services)) {
      if (kind === own.transport || kind === own.events) continue; // served there already
      const configured = env[`${service.toUpperCase()}_${kind.toUpperCase()}_ADDR`];
      const addresses = TRANSPORTS[kind].brokered ? [] : configured ? list(configured) : offset(own, kind);
      own.also = { ...own.also, [kind]: addresses };
    }
  }
  const limit = env.MAX_MESSAGE_BYTES ? positiveInt(env.MAX_MESSAGE_BYTES, 'MAX_MESSAGE_BYTES') : undefined;
  return {
    transport,
    services,
    amqpUrl: env.AMQP_URL ?? DEFAULT_TRANSPORT_CONFIG.amqpUrl,
    amqpPrefix: env.AMQP_PREFIX ?? DEFAULT_TRANSPORT_CONFIG.amqpPrefix,
    natsUrl: env.NATS_URL ?? DEFAULT_TRANSPORT_CONFIG.natsUrl,
    natsPrefix: env.NATS_PREFIX ?? DEFAULT_TRANSPORT_CONFIG.natsPrefix,
    defaultTimeoutMs: env.REQUEST_TIMEOUT_MS
      ? positiveInt(env.REQUEST_TIMEOUT_MS, 'REQUEST_TIMEOUT_MS')
      : DEFAULT_TRANSPORT_CONFIG.defaultTimeoutMs,
    maxMessageBytes:
      limit === undefined
        ? DEFAULT_MAX_MESSAGE_BYTES
        : eachKind((kind) => Math.min(limit, TRANSPORTS[kind].ceilingBytes ?? Infinity)),
    subscriptionTtlMs: env.SUBSCRIPTION_TTL_MS
      ? positiveInt(env.SUBSCRIPTION_TTL_MS, 'SUBSCRIPTION_TTL_MS')
      : DEFAULT_TRANSPORT_CONFIG.subscriptionTtlMs,
    replicaRefreshMs: env.REPLICA_REFRESH_MS
      ? nonNegativeInt(env.REPLICA_REFRESH_MS, 'REPLICA_REFRESH_MS')
      : DEFAULT_TRANSPORT_CONFIG.replicaRefreshMs,
    shutdownGraceMs: DEFAULT_TRANSPORT_CONFIG.shutdownGraceMs,
    ...secretFromEnv(env),
    ...tcpTlsFromEnv(env),
    tcpLimits: tcpLimitsFromEnv(env),
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
}

function compareKindsFromEnv(env: Record<string, string | undefined>): TransportKind[] {
  const kinds = list(env.COMPARE_TRANSPORTS ?? '').map((k) => parseTransportKind(k, 'COMPARE_TRANSPORTS'));
  return [...new Set(kinds)];
}

/** Each of the service's addresses with its port moved by the kind's comparePortOffset (descriptor.ts). */
function offset(service: ServiceConfig, kind: TransportKind): string[] {
  const by = TRANSPORTS[kind].comparePortOffset ?? 0;
  return (service.addresses ?? []).map((address) => {
    const { host, port } = parseHostPort(address);
    return formatHostPort({ host, port: port + by });
  });
}

/**
 * TRANSPORT_SECRET, else the contents of TRANSPORT_SECRET_FILE. An empty TRANSPORT_SECRET counts
 * as unset (compose passes `${TRANSPORT_SECRET:-}`, and its generated file otherwise); a file
 * named but missing or empty is an error, never a silent fall back to unauthenticated.
 */
function secretFromEnv(env: Record<string, string | undefined>): Pick<TransportConfig, 'secret'> {
  const file = env.TRANSPORT_SECRET_FILE;
  const secret = env.TRANSPORT_SECRET || (file ? secretFromFile(file) : undefined);
  if (!secret) return {};
  secretBytes(secret); // refuse a short one at start, with its one-line reason
  return { secret };
}

function secretFromFile(path: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`TRANSPORT_SECRET_FILE=${path} cannot be read (${reason})`);
  }
  if (!secret) throw new Error(`TRANSPORT_SECRET_FILE=${path} is empty`);
  return secret;
}

function tcpTlsFromEnv(env: Record<string, string | undefined>): Pick<TransportConfig, 'tcpTls'> {
  const files: TcpTlsFiles = {};
  if (env.TCP_TLS_CERT) files.cert = env.TCP_TLS_CERT;
  if (env.TCP_TLS_KEY) files.key = env.TCP_TLS_KEY;
  if (env.TCP_TLS_CA) files.ca = env.TCP_TLS_CA;
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new Error('TCP_TLS_CERT and TCP_TLS_KEY go together: set both (PEM files) or neither');
  }
  return Object.keys(files).length === 0 ? {} : { tcpTls: files };
}

function tcpLimitsFromEnv(env: Record<string, string | undefined>): TcpLimits {
  const read = (variable: string, fallback: number): number =>
    env[variable] ? positiveInt(env[variable], variable) : fallback;
  const d = DEFAULT_TCP_LIMITS;
  return {
    maxConnections: read('TCP_MAX_CONNECTIONS', d.maxConnections),
    maxConnectionsPerPeer: read('TCP_MAX_CONNECTIONS_PER_PEER', d.maxConnectionsPerPeer),
    helloTimeoutMs: read('TCP_HELLO_TIMEOUT_MS', d.helloTimeoutMs),
    frameTimeoutMs: read('TCP_FRAME_TIMEOUT_MS', d.frameTimeoutMs),
    idleTimeoutMs: read('TCP_IDLE_TIMEOUT_MS', d.idleTimeoutMs),
    firstFrameBytes: read('TCP_FIRST_FRAME_BYTES', d.firstFrameBytes),
  };
}

function nonNegativeInt(value: string, variable: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${variable}=${value} must be 0 or a positive integer`);
  return n;
}

function positiveInt(value: string, variable: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${variable}=${value} must be a positive integer`);
  return n;
}
