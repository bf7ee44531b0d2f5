/**
 * Helpers for tests that run real transports in one process: servers on free loopback
 * ports, clients pointed at them, AMQP names unique to the test so parallel test files
 * never share a queue.
 */
import dgram from 'node:dgram';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { DEFAULT_TRANSPORT_CONFIG, type TransportConfig } from '../config.js';
import { TransportError } from '../errors.js';
import { createTransport, type RoutedTransport } from '../factory.js';
import { TRANSPORTS } from '../transports.js';
import type { Handlers, Listener, TransportKind } from '../transport.js';

export const AMQP_TEST_URL = process.env.AMQP_URL ?? DEFAULT_TRANSPORT_CONFIG.amqpUrl;
export const NATS_TEST_URL = process.env.NATS_URL ?? DEFAULT_TRANSPORT_CONFIG.natsUrl;

/** A config for tests: every listed service on `kind`, listening on a free loopback port. */
export function testConfig(kind: TransportKind, overrides: Partial<TransportConfig> = {}): TransportConfig {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  return {
    ...DEFAULT_TRANSPORT_CONFIG,
    transport: kind,
    amqpUrl: AMQP_TEST_URL,
    amqpPrefix: prefix,
    natsUrl: NATS_TEST_URL,
    natsPrefix: prefix,
    subscriptionTtlMs: 2_000,
    shutdownGraceMs: 2_000,
    ...overrides,
    services: { ...overrides.services },
  };
}

/**
 * A transport world for one test: `serve` starts a service on a free port (or the port
 * it had, on restart) and records its address; `client()` makes a separate transport
 * instance (own sockets, own AMQP connection) that reaches every served service.
 */
export class TestWorld {
  readonly kind: TransportKind;
  readonly config: TransportConfig;
  readonly #transports: RoutedTransport[] = [];

  constructor(kind: TransportKind, overrides: Partial<TransportConfig> = {}) {
    this.kind = kind;
    this.config = testConfig(kind, overrides);
  }

  /** A new transport instance sharing this world's config (addresses, AMQP prefix). */
  transport(): RoutedTransport {
    const transport = createTransport(this.config);
    this.#transports.push(transport);
    return transport;
  }

  /** Serve `service` on `on` (a new transport by default) at a free port, or `listen`. */
  async serve(service: string, handlers: Handlers, on = this.transport(), listen = '127.0.0.1:0'): Promise<Listener> {
    this.config.services[service] = {
      ...this.config.services[service],
      listen,
      addresses: this.config.services[service]?.addresses ?? [],
    };
    const listener = await on.serve(service, handlers);
    if (!TRANSPORTS[this.kind].brokered) {
      this.config.services[service] = { listen: listener.address, addresses: [listener.address] };
    }
    return listener;
  }

  /** Point `service` at an address where nothing listens. */
  async unreachable(service: string): Promise<void> {
    const address = `127.0.0.1:${await freePort()}`;
    this.config.services[service] = { listen: address, addresses: [address] };
  }

  async close(): Promise<void> {
    await Promise.all(this.#transports.map((t) => t.close()));
  }
}

/**
 * A loopback port nothing listens on, over TCP or UDP (bound, then released), for a test
 * that must name an address before anything binds it. Two things could take it before the
 * test binds it, and neither can:
 *  - a socket bound to port 0 meanwhile (another service's admin port, a client): the port is
 *    picked below the kernel's ephemeral range, where port-0 binds never land;
 *  - another freePort() call, in this process or in another test worker: each port handed out
 *    is claimed for a minute with a file created exclusively in a folder all workers share.
 */
export async function freePort(): Promise<number> {
  const [lowest] = ephemeralPorts();
  mkdirSync(CLAIMS, { recursive: true });
  for (;;) {
    const port = FIRST_PICKED_PORT + Math.floor(Math.random() * (lowest - FIRST_PICKED_PORT));
    if (!claim(port)) continue;
    if ((await bindable(net.createServer(), port)) && (await bindable(dgram.createSocket('udp4'), port))) return port;
  }
}

/** Where handed-out ports are claimed (one empty file per port), shared by every test process. */
const CLAIMS = path.join(tmpdir(), 'chirp-test-ports');
const CLAIM_MS = 60_000;

/** Claim `port` for CLAIM_MS: false if another call claimed it less than that ago. */
function claim(port: number): boolean {
  const file = path.join(CLAIMS, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    // Claimed before: by now stale (take it over), or still fresh (leave it).
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_MS) return false;
      const now = new Date();
      utimesSync(file, now, now);
      return true;
    } catch {
      return false;
    }
  }
}

const FIRST_PICKED_PORT = 10_000;

/** The kernel's range for port-0 binds (Linux's default where it cannot be read). */
function ephemeralPorts(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && low > FIRST_PICKED_PORT) return [low, high];
  } catch {
    // not Linux: use the default below
  }
  return [32_768, 60_999];
}

async function bindable(socket: net.Server | dgram.Socket, port: number): Promise<boolean> {
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    if (socket instanceof net.Server) socket.listen(port, '127.0.0.1', () => resolve(true));
    else socket.bind(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => socket.close(() => resolve()));
  return bound;
}

/** A fresh TRANSPORT_SECRET (64 hex characters) for a test's transports. */
export function testSecret(): string {
  return randomBytes(32).toString('hex');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` until it stops throwing, or rethrow its last error after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(everyMs);
    }
  }
}

/** The TransportError a call fails with; throws if it succeeds or fails with anything else. */
export async function failure(call: Promise<unknown>): Promise<TransportError> {
  const err = await call.then(
    () => new Error('expected the call to fail, and it succeeded'),
    (e: unknown) => e,
  );
  if (!(err instanceof TransportError)) throw new Error(`expected a TransportError, got ${String(err)}`);
  return err;
}

export { TcpProxy, type Blackout, type TcpFaults, type TcpProxyOptions, type TcpProxyStats } from './tcp-proxy.js';
export {
  brokerConnections,
  closeBrokerConnections,
  deleteByPrefix,
  takeDeadLetters,
  type DeadLetter,
} from './broker.js';
export { UdpProxy, type DirectionStats, type UdpFaults, type UdpProxyOptions } from './udp-proxy.js';
export { selfSigned } from './certificates.js';
