/**
 * The transport's one AMQP connection, kept open for as long as the transport lives.
 *
 * The first connection is made on first use and fails fast (UNAVAILABLE naming the broker)
 * when the broker cannot be reached: a process started without its broker should say so,
 * not sit waiting. Once connected, a lost connection is re-made in the background with a
 * growing backoff; callers meanwhile wait for it within their own deadline. Consumers
 * ("standing" resources: served queues, subscriptions) are re-created on every reconnect,
 * and on their own when only their channel was closed by the broker. Channels the transport
 * uses on demand (publishing requests and events) are opened lazily, again after each loss.
 * Every connection sends what its channels queue within one turn in one socket write (writes.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { TransportError, unavailable } from '../errors.js';
import { backoffMs } from '../endpoints.js';
import type { Logger } from '../logger.js';
import { Waiters } from '../waiters.js';
import { coalesceWrites } from './writes.js';

/** Seconds. Short enough that a silently dead broker (no FIN, e.g. a cut network) is noticed in ~20 s. */
const HEARTBEAT_SECONDS = 10;
/** A broker that accepts TCP but never completes the handshake must not stall the first call forever. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Something that lives on its own channel and must exist whenever the connection does. */
export interface Standing {
  /** Create its channel, declarations and consumer on `model`; a no-op while it has them. */
  attach(model: ChannelModel): Promise<void>;
}

export class AmqpConnection {
  /** Shown by the broker (`rabbitmqctl list_connections client_properties`), so an operator can tell who is who. */
  readonly name: string;
  /** The broker's URL without the password, for messages and logs. */
  readonly display: string;
  readonly #url: string;
  readonly #logger: Logger;
  readonly #waiters = new Waiters<ChannelModel>();
  readonly #standing = new Set<Standing>();
  #model: ChannelModel | undefined;
  #connecting = false;
  #everConnected = false;
  #failures = 0;
  #lastError: unknown;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(url: string, prefix: string, logger: Logger) {
    this.#logger = logger;
    this.name = `chirp ${prefix} ${hostname()}:${process.pid} ${randomBytes(3).toString('hex')}`;
    ({ url: this.#url, display: this.display } = withHeartbeat(url));
  }

  /** The open connection; waits through a reconnect until `deadline`, then fails with UNAVAILABLE. */
  ready(deadline: number): Promise<ChannelModel> {
    if (this.#closed) return Promise.reject(this.closedError());
    if (this.#model !== undefined) return Promise.resolve(this.#model);
    if (!this.#everConnected && !this.#connecting) void this.#connect();
    return this.#waiters.wait(deadline, () => {
      const last = this.#lastError instanceof Error ? `; last error: ${this.#lastError.message}` : '';
      return new TransportError('UNAVAILABLE', `amqp: no connection to ${this.display} in time (reconnecting${last})`);
    });
  }

  /** Attach `standing` now (failing if that fails) and again after every reconnect, until released. */
  async keep(standing: Standing, deadline: number): Promise<void> {
    const model = await this.ready(deadline);
    // Registered before attaching, so a reconnect during the attach is not missed.
    this.#standing.add(standing);
    try {
      await standing.attach(model);
    } catch (err) {
      this.#standing.delete(standing);
      throw err instanceof TransportError ? err : unavailable(`amqp: broker at ${this.display} refused the setup`, err);
    }
  }

  release(standing: Standing): void {
    this.#standing.delete(standing);
  }

  /** `standing` lost its channel: attach it again soon, unless a reconnect will do it anyway. */
  restore(standing: Standing, attempt = 1): void {
    if (this.#closed || !this.#standing.has(standing)) return;
    setTimeout(() => {
      const model = this.#model;
      if (this.#closed || !this.#standing.has(standing) || model === undefined) return;
      standing.attach(model).catch((err: unknown) => {
        this.#logger.error({ err, connection: this.name }, 'amqp: could not re-create a consumer; retrying');
        this.restore(standing, attempt + 1);
      });
    }, backoffMs(attempt)).unref();
  }

  closedError(): TransportError {
    return new TransportError('UNAVAILABLE', 'amqp: transport closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#standing.clear();
    this.#waiters.reject(this.closedError());
    const model = this.#model;
    this.#model = undefined;
    if (model !== undefined) await closeQuietly(model);
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    let model: ChannelModel;
    try {
      model = await connect(this.#url, {
        noDelay: true, // amqplib leaves Nagle on: pipelined calls would stall ~40 ms each
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: this.name },
      });
    } catch (err) {
      this.#connecting = false;
      this.#lastError = err;
      if (this.#closed) return;
      if (this.#everConnected) {
        this.#logger.warn({ err, broker: this.display }, 'amqp: reconnect failed');
        this.#scheduleReconnect();
      } else {
        const error = unavailable(`amqp: cannot connect to ${this.display}`, err);
        this.#waiters.reject(error);
      }
      return;
    }
    this.#connecting = false;
    if (this.#closed) {
      await closeQuietly(model);
      return;
    }
    this.#lastError = undefined;
    coalesceWrites(model);
    model.on('error', (err: unknown) => {
      this.#lastError = err;
    });
    model.on('close', () => this.#onClose(model));
    model.on('blocked', (reason: unknown) => {
      this.#logger.warn({ reason, broker: this.display }, 'amqp: broker blocked publishing (resource alarm)');
    });
    if (this.#everConnected) this.#logger.info({ broker: this.display, connection: this.name }, 'amqp: reconnected');
    this.#everConnected = true;
    this.#failures = 0;
    this.#model = model;
    this.#waiters.resolve(model);
    for (const standing of this.#standing) {
      standing.attach(model).catch((err: unknown) => {
        this.#logger.error({ err, connection: this.name }, 'amqp: could not re-create a consumer after reconnecting');
        this.restore(standing, 2);
      });
    }
  }

  #onClose(model: ChannelModel): void {
    if (this.#model !== model) return;
    this.#model = undefined;
    if (this.#closed) return;
    this.#lastError ??= new Error('connection closed');
    this.#logger.warn(
      { err: this.#lastError, broker: this.display, connection: this.name },
      'amqp: connection lost; reconnecting',
    );
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#failures++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) void this.#connect();
    }, backoffMs(this.#failures));
  }
}

/**
 * A channel opened on first use and again on the first use after it was lost. Callers that
 * arrive while it opens share the one opening.
 */
export class LazyChannel<C extends Channel> {
  readonly #connection: AmqpConnection;
  readonly #open: (model: ChannelModel) => Promise<C>;
  readonly #onLost: (channel: C) => void;
  #channel: C | undefined;
  #opening: Promise<C> | undefined;

  constructor(
    connection: AmqpConnection,
    open: (model: ChannelModel) => Promise<C>,
    onLost: (channel: C) => void = () => {},
  ) {
    this.#connection = connection;
    this.#open = open;
    this.#onLost = onLost;
  }

  async get(deadline: number): Promise<C> {
    if (this.#channel !== undefined) return this.#channel;
    const model = await this.#connection.ready(deadline);
    this.#opening ??= this.#openOn(model).finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async close(): Promise<void> {
    const channel = this.#channel;
    this.#channel = undefined;
    if (channel !== undefined) await closeQuietly(channel);
  }

  async #openOn(model: ChannelModel): Promise<C> {
    let channel: C;
    try {
      channel = await this.#open(model);
    } catch (err) {
      throw unavailable(`amqp: cannot open a channel on ${this.#connection.display}`, err);
    }
    channel.on('close', () => {
      if (this.#channel === channel) this.#channel = undefined;
      this.#onLost(channel);
    });
    this.#channel = channel;
    return channel;
  }
}

/**
 * Close a channel or connection; resolves once it is closed, however that comes about.
 * amqplib's own close() never settles if the socket dies while it waits for the broker's
 * close-ok, and rejects if it was closed already: neither should hold up a shutdown.
 */
export function closeQuietly(closable: Channel | ChannelModel): Promise<void> {
  return new Promise((resolve) => {
    closable.once('close', () => resolve());
    closable.close().then(
      () => resolve(),
      () => resolve(),
    );
  });
}

/**
 * Every channel must have an 'error' listener, or a channel the broker closes (e.g. a failed
 * declaration) would crash the process as an unhandled 'error' event; 'close' always follows.
 */
export function logChannelErrors(channel: Channel, logger: Logger, what: string): void {
  channel.on('error', (err: unknown) => logger.warn({ err }, `amqp: ${what} channel closed by the broker`));
}

/**
 * amqplib throws from publish() rather than failing later: a TypeError for a field AMQP
 * cannot carry (a name over 255 bytes), anything else when the channel has just closed.
 */
export function sendError(what: string, err: unknown): TransportError {
  if (err instanceof TypeError)
    return new TransportError('INVALID_ARGUMENT', `${what}: cannot be sent: ${err.message}`);
  return unavailable(`${what}: could not send`, err);
}

/** Turn on heartbeats unless the URL sets them, and make a printable copy without the password. */
function withHeartbeat(url: string): { url: string; display: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, display: '(unparseable AMQP URL)' };
  }
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(HEARTBEAT_SECONDS));
  const shown = new URL(parsed.href);
  shown.password = '';
  shown.search = '';
  return { url: parsed.href, display: shown.href.replace(/\/$/, '') };
}
