/**
 * The transport's one NATS connection, made on first use and kept for as long as the transport
 * lives. nats.js reconnects by itself, for ever (maxReconnectAttempts -1), and re-sends every
 * subscription when it is back. What it does not do is tell a caller: while it is disconnected,
 * a publish is buffered and then dropped at the next dial (its outbound buffer is reset), and a
 * request waits out its whole timeout. So this class follows the connection's status and
 *
 *   - makes callers wait for the connection (ready()) within their own deadline, and fail with
 *     UNAVAILABLE naming the server when it does not come back in time;
 *   - tells the client when the connection is lost (onLost), so that calls in flight fail at once
 *     instead of at their deadline;
 *   - fails the first connection fast (UNAVAILABLE naming the server): a process started without
 *     its server should say so; the next call tries again.
 *
 * If nats.js gives up on the connection for good (it does so only after repeated authentication
 * failures), every call fails with UNAVAILABLE saying why, and the transport must be re-made.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TransportError, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import { Waiters } from '../waiters.js';
import { within } from '../close-order.js';

/** Between reconnect attempts (plus up to the jitter): a restarting server is found within about a second. */
const RECONNECT_WAIT_MS = 500;
const RECONNECT_JITTER_MS = 250;
/** Pings every 10 s, two unanswered mean dead: a silently dead server (a cut network) is noticed in ~20-30 s. */
const PING_INTERVAL_MS = 10_000;
const MAX_PINGS_OUT = 2;
/** A server that accepts TCP but never completes the handshake must not stall the first call for nats.js's default 20 s. */
const CONNECT_TIMEOUT_MS = 10_000;
/** close() gives replies already written this long to reach the server. */
const FLUSH_ON_CLOSE_MS = 1_000;

export class NatsLink {
  /** The servers, without passwords, for messages and logs. */
  readonly display: string;
  readonly stats = { disconnects: 0, reconnects: 0 };
  readonly #servers: string[];
  readonly #name: string;
  readonly #logger: Logger;
  readonly #waiters = new Waiters<NatsConnection>();
  readonly #onLost: Array<(error: TransportError) => void> = [];
  #nc: NatsConnection | undefined;
  /** Connected right now (as far as the status stream has told us). */
  #up = false;
  #connecting = false;
  /** nats.js closed the connection for good, and why. */
  #failed: TransportError | undefined;
  #maxPayload: number | undefined;
  #closed = false;

  constructor(url: string, prefix: string, logger: Logger) {
    this.#logger = logger;
    this.#servers = url
      .split(',')
      .map((server) => server.trim())
      .filter((server) => server.length > 0);
    this.display = this.#servers.map(withoutPassword).join(',');
    this.#name = `chirp ${prefix} ${hostname()}:${process.pid} ${randomBytes(3).toString('hex')}`;
  }

  /** The connection, if it is up now: the hot path needs no promise. */
  get current(): NatsConnection | undefined {
    return this.#up ? this.#nc : undefined;
  }

  /** The server's max_payload, once known: it bounds headers and body together. */
  get maxPayload(): number | undefined {
    return this.#maxPayload;
  }

  /** Called with the error for calls in flight whenever the connection is lost. */
  onLost(listener: (error: TransportError) => void): void {
    this.#onLost.push(listener);
  }

  /** The open connection; waits through a (re)connect until `deadline`, then fails with UNAVAILABLE. */
  ready(deadline: number): Promise<NatsConnection> {
    if (this.#closed) return Promise.reject(this.closedError());
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#up) return Promise.resolve(this.#nc!);
    if (this.#nc === undefined && !this.#connecting) void this.#connect();
    return this.#waiters.wait(deadline, () => {
      const state = this.#nc === undefined ? 'connecting' : 'reconnecting';
      return new TransportError('UNAVAILABLE', `nats: no connection to ${this.display} in time (${state})`);
    });
  }

  closedError(): TransportError {
    return new TransportError('UNAVAILABLE', 'nats: transport closed', { retryable: false });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiters.reject(this.closedError());
    const nc = this.#nc;
    if (nc === undefined) return; // a connection still being made is closed when it arrives
    if (this.#up) await within(nc.flush(), FLUSH_ON_CLOSE_MS);
    this.#up = false;
    await nc.close();
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: this.#servers,
        name: this.#name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        reconnectJitter: RECONNECT_JITTER_MS,
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
        timeout: CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      this.#connecting = false;
      const error = unavailable(`nats: cannot connect to ${this.display}`, err);
      this.#waiters.reject(error);
      return;
    }
    this.#connecting = false;
    if (this.#closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#up = true;
    this.#maxPayload = nc.info?.max_payload;
    void this.#follow(nc);
    void nc.closed().then((err) => this.#onClosed(err));
    this.#waiters.resolve(nc);
  }

  /** Track the connection's state from nats.js's status stream; it ends when the connection closes. */
  async #follow(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' && this.#up) {
        this.#up = false;
        this.stats.disconnects++;
        this.#logger.warn({ server: status.server, connection: this.#name }, 'nats: connection lost; reconnecting');
        const error = unavailable(`nats: connection to ${this.display} lost before the reply came`);
        for (const listener of this.#onLost) listener(error);
      } else if (status.type === 'reconnect' && !this.#closed) {
        this.#up = true;
        this.stats.reconnects++;
        this.#maxPayload = nc.info?.max_payload ?? this.#maxPayload;
        this.#logger.info({ server: status.server, connection: this.#name }, 'nats: reconnected');
        this.#waiters.resolve(nc);
      } else if (status.type === 'error') {
        // E.g. a permissions violation: it concerns one subject, not the connection.
        this.#logger.warn({ err: status.error, connection: this.#name }, 'nats: the server reported an error');
      }
    }
  }

  #onClosed(err: void | Error): void {
    if (this.#closed) return;
    this.#up = false;
    this.#failed = unavailable(`nats: the client gave up its connection to ${this.display}`, err);
    this.#logger.error(
      { err, connection: this.#name },
      'nats: connection closed for good; this transport must be re-made',
    );
    for (const listener of this.#onLost) listener(this.#failed);
    this.#waiters.reject(this.#failed!);
  }
}

/** Wait until the server has processed everything sent so far; UNAVAILABLE if the connection fails first, DEADLINE_EXCEEDED after `deadline`. */
export async function flushBy(nc: NatsConnection, deadline: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TransportError('DEADLINE_EXCEEDED', `nats: ${what}: the server did not confirm it in time`)),
      Math.max(1, deadline - Date.now()),
    );
  });
  try {
    await Promise.race([nc.flush(), late]);
  } catch (err) {
    throw err instanceof TransportError ? err : unavailable(`nats: ${what}: not confirmed by the server`, err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What nats.js throws from publish(): a message over the server's max_payload (headers
 * included), or a connection closed or draining meanwhile.
 */
export function publishError(what: string, err: unknown): TransportError {
  if (err instanceof Error && /max_payload/.test(err.message)) {
    return new TransportError('RESOURCE_EXHAUSTED', `${what}: with its headers, over the server's limit (max_payload)`);
  }
  return unavailable(`${what}: could not send`, err);
}

/** `nats://user:secret@host:4222` → `nats://user@host:4222`; a bare `host:port` stays as it is. */
function withoutPassword(server: string): string {
  try {
    const url = new URL(server);
    if (url.password === '') return server;
    url.password = '';
    return url.href.replace(/\/$/, '');
  } catch {
    return server;
  }
}
