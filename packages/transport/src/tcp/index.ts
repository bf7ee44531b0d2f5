/**
 * TCP transport: `node:net`, length-prefixed frames (framing.ts) carrying envelopes (envelope.ts).
 * This file is the client side and the Transport; the server side is server.ts.
 *
 * Delivery: a request is written once on one persistent connection per endpoint, where any
 * number of requests are in flight at once, matched to replies by id (multiplexing).
 * TCP keeps order and loses nothing while the connection lives; if it dies, every request
 * in flight on it fails with UNAVAILABLE (the handler may or may not have run), and the
 * next call reconnects, after a growing backoff if the endpoint keeps refusing.
 * Events: a subscriber registers over its connection and the publisher pushes event
 * frames down it; a subscriber whose connection drops re-registers when it reconnects.
 * Trust (TRANSPORT_SECRET): a hello, then a MAC on every frame (session.ts); a server
 * hangs up on a connection whose hello or any frame fails, and keeps serving the rest.
 * TLS (TCP_TLS_*): tls.ts. Caps and timeouts on what a connection may hold: limits.ts; a
 * client closes a connection it has left idle (nothing in flight, no subscription) for a
 * third to two thirds of TCP_IDLE_TIMEOUT_MS, before its server would, and its next call
 * reconnects.
 */
import type net from 'node:net';

import { TransportError, fromWireError, unavailable } from '../errors.js';
import { CloseOrder } from '../close-order.js';
import { ServedServers } from '../served.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../envelope.js';
import { deliver } from '../dispatch.js';
import {
  ServiceEndpoints,
  backoffMs,
  followReplicas,
  parseHostPort,
  type EndpointSet,
  Retirement,
  type EndpointState,
  type HeldForReplica,
  type ReplicaUsers,
} from '../endpoints.js';
import { newRequestId, newSubscriptionId } from '../ids.js';
import { checkSize, outgoing, requestEnvelope, type OutgoingRequest, type TransportOptions } from '../options.js';
import { PendingRequests } from '../pending.js';
import { MAC_BYTES, Sealer, emptyAuthStats, secretBytes, type AuthStats } from '../signing.js';
import { followPublishers, type LocalSubscription } from '../subscribers.js';
import type {
  EventHandler,
  Handlers,
  Listener,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { writeFrame } from './coalesce.js';
import { FRAME_HEADER_BYTES, FrameDecoder, withLength } from './framing.js';
import { ConnectionCounter, DEFAULT_TCP_LIMITS, type TcpConnectionStats, type TcpLimits } from './limits.js';
import { TcpServer } from './server.js';
import { UNSIGNED_FRAMES, UNSIGNED_HELLO, openSession, type FrameAuth } from './session.js';
import { connectSocket, loadTcpTls, type TcpTls } from './tls.js';

export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  readonly maxMessageBytes: number;
  readonly #options: TransportOptions;
  readonly #pending = new PendingRequests<Connection>((connection) => this.#retirement.settled(connection));
  /** Each service's replicas; an endpoint's load is the calls waiting on its connection. */
  readonly #endpoints: ServiceEndpoints;
  readonly #connections = new Map<string, Connection>();
  /** A connection to a replica that left closes once its calls are done. */
  readonly #retirement = new Retirement(this.#connections, (connection) => this.#hangUp(connection));
  readonly #subscriptions = new Map<string, LocalSubscription<{ addresses: string[] }>>();
  readonly #servers = new ServedServers<TcpServer>('tcp');
  /** Signs hellos; undefined without TRANSPORT_SECRET. */
  readonly #sealer: Sealer | undefined;
  /** Room for a MAC in each frame's body. */
  readonly #macBytes: number;
  readonly #tls: TcpTls;
  /** Connections this transport's servers refused, by reason. */
  readonly stats: AuthStats = emptyAuthStats();
  readonly #limits: TcpLimits;
  /** Connections this transport's servers hold, refused or closed under limits.ts, for /metrics. */
  readonly #counter: ConnectionCounter;
  readonly #closing = new CloseOrder('tcp');

  constructor(options: TransportOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes;
    this.#sealer = options.secret === undefined ? undefined : new Sealer(secretBytes(options.secret));
    this.#macBytes = this.#sealer === undefined ? 0 : MAC_BYTES;
    this.#tls = loadTcpTls(options.tcpTls);
    this.#limits = options.tcpLimits ?? DEFAULT_TCP_LIMITS;
    this.#counter = new ConnectionCounter(this.#limits);
    this.#endpoints = new ServiceEndpoints(
      'tcp',
      (service) => this.#options.route(service).addresses,
      (endpoint) => this.#connections.get(endpoint.address)?.pending ?? 0,
      options.replicas,
    );
    const subscriptions: ReplicaUsers = {
      refresh: () =>
        followPublishers(
          this.#subscriptions,
          (service) => this.#options.route(service).addresses,
          (address, id) => this.#register(address, id),
          (err, address) => this.#options.logger.debug({ err, address }, 'tcp: a new publisher refused; retried'),
        ),
      uses: (address) => this.#subscribedAt(address),
    };
    followReplicas(options.replicas, [this.#endpoints, subscriptions], (address) => this.#retirement.retire(address));
  }

  /** Connections held by this transport's servers, and those refused or closed by limits.ts. */
  get connectionStats(): TcpConnectionStats {
    return this.#counter.stats;
  }

  counters(): Record<string, number> {
    return { ...this.stats, ...this.connectionStats };
  }

  // ---- client side -------------------------------------------------------------------

  /** Not `async`: returning the pending promise itself saves a promise and its ticks per call. */
  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    let out: OutgoingRequest | undefined;
    try {
      out = outgoing('tcp', service, method, options, this.#options.defaultTimeoutMs);
      const envelope = requestEnvelope(out, service, method, payload);
      const frame = withLength(encodeEnvelope(envelope, FRAME_HEADER_BYTES + this.#macBytes));
      checkSize(
        frame.length - FRAME_HEADER_BYTES - this.#macBytes,
        this.maxMessageBytes,
        `request ${service}.${method}`,
      );
      const connection = this.#connectionFor(service);
      const reply = this.#pending.wait(out.id, out.timeoutMs, `tcp ${service}.${method}`, connection, out.call);
      connection.pending++;
      connection.uses++;
      connection.auth.seal(frame);
      writeFrame(connection.socket, frame);
      out.call.sent(connection.address, frame.length);
      return reply;
    } catch (err) {
      return out === undefined ? Promise.reject(err as Error) : out.call.fail(err);
    }
  }

  async subscribe(
    service: string,
    topic: string,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#closing.assertServing();
    const subscriptionId = newSubscriptionId();
    const addresses = this.#options.route(service).addresses;
    this.#subscriptions.set(subscriptionId, { service, topic, group: options?.group, handler, extra: { addresses } });
    // Register with every replica: each publishes its own events. One that refuses now is
    // registered with when its connection comes back; if none accepts, this subscription never
    // existed (a retry by the caller must not leave a second copy behind to be re-registered).
    const results = await Promise.allSettled(addresses.map((address) => this.#register(address, subscriptionId)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length === results.length) {
      this.#subscriptions.delete(subscriptionId);
      throw failures[0]?.reason ?? new TransportError('UNAVAILABLE', `tcp: ${service} has no address to subscribe to`);
    }
    return {
      close: async () => {
        const current = this.#subscriptions.get(subscriptionId)?.extra.addresses ?? [];
        this.#subscriptions.delete(subscriptionId);
        await Promise.allSettled(
          current.map((address) =>
            this.#control(this.#connection(address), { type: 'unsubscribe', id: newRequestId(), subscriptionId }),
          ),
        );
      },
    };
  }

  #register(address: string, subscriptionId: string): Promise<unknown> {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined) return Promise.resolve();
    const envelope: Envelope = { type: 'subscribe', id: newRequestId(), subscriptionId, topic: sub.topic };
    if (sub.group !== undefined) envelope.group = sub.group;
    return this.#control(this.#connection(address), envelope);
  }

  #control(connection: Connection, envelope: Envelope & { id: string }): Promise<unknown> {
    const reply = this.#pending.wait(envelope.id, this.#options.defaultTimeoutMs, `tcp ${envelope.type}`, connection);
    connection.pending++;
    connection.uses++;
    const frame = withLength(encodeEnvelope(envelope, FRAME_HEADER_BYTES + this.#macBytes));
    connection.auth.seal(frame);
    writeFrame(connection.socket, frame);
    return reply;
  }

  #connectionFor(service: string): Connection {
    this.#closing.assertCalling();
    const endpoints = this.#endpoints.of(service);
    const endpoint = endpoints.pick();
    return this.#connection(endpoint.address, endpoints, endpoint);
  }

  #connection(address: string, endpoints?: EndpointSet, endpoint?: EndpointState): Connection {
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.socket.destroyed) {
      existing.retiring = false; // wanted again: its replica is back
      return existing;
    }
    const { host, port } = parseHostPort(address);
    const { socket, readyEvent } = connectSocket(host, port, this.#tls);
    const decoder = new FrameDecoder(this.maxMessageBytes + 1024 + this.#macBytes);
    let auth = UNSIGNED_FRAMES;
    if (this.#sealer !== undefined) {
      const session = openSession(this.#sealer);
      socket.write(session.hello); // first, before any frame
      auth = session.auth;
    } else {
      socket.write(UNSIGNED_HELLO); // so that the first request may be as large as any (session.ts)
    }
    const connection: Connection = { address, socket, decoder, auth, pending: 0, uses: 0 };
    this.#connections.set(address, connection);
    this.#closeWhenIdle(connection);
    socket.on(readyEvent, () => {
      if (endpoints && endpoint) endpoints.markUp(endpoint);
    });
    socket.on('data', (chunk) => this.#onClientData(connection, chunk));
    socket.on('error', (err) => {
      connection.error =
        connection.opened || readyEvent === 'connect'
          ? err
          : new Error(`TLS handshake failed: ${err.message} (is the server's CA in TCP_TLS_CA?)`);
    });
    socket.on('close', () => {
      if (this.#connections.get(address) === connection) this.#connections.delete(address);
      const error = unavailable(`tcp: connection to ${address} lost`, connection.error);
      this.#pending.rejectWhere((tag) => tag === connection, error);
      if (!connection.opened && endpoints && endpoint) endpoints.markDown(endpoint);
      this.#resubscribeLater(address, 1);
    });
    socket.once(readyEvent, () => {
      connection.opened = true;
    });
    return connection;
  }

  /**
   * Close `connection` once it has gone a check interval (a third of TCP_IDLE_TIMEOUT_MS) with
   * nothing sent or received, nothing in flight and no subscription through it: the client
   * hangs up before the server's idle timeout could, so no call is ever written into a
   * connection the server is closing. The next call opens a new one.
   */
  #closeWhenIdle(connection: Connection): void {
    let seen = -1;
    const check = setInterval(() => {
      const subscribed = this.#subscribedAt(connection.address);
      if (connection.pending > 0 || connection.uses !== seen || subscribed) {
        seen = connection.uses;
        return;
      }
      clearInterval(check);
      this.#hangUp(connection);
    }, this.#limits.idleTimeoutMs / 3).unref();
    connection.socket.once('close', () => clearInterval(check));
  }

  #subscribedAt(address: string): boolean {
    for (const sub of this.#subscriptions.values()) if (sub.extra.addresses.includes(address)) return true;
    return false;
  }

  #hangUp(connection: Connection): void {
    if (this.#connections.get(connection.address) === connection) this.#connections.delete(connection.address);
    connection.socket.end();
  }

  /** After a connection drops, register its subscriptions again once it can reconnect (while it is still theirs). */
  #resubscribeLater(address: string, attempt: number): void {
    const subscribed = (): string[] =>
      [...this.#subscriptions].filter(([, s]) => s.extra.addresses.includes(address)).map(([id]) => id);
    if (subscribed().length === 0 || this.#closing.closed) return;
    setTimeout(() => {
      const ids = subscribed();
      if (this.#closing.closed || ids.length === 0) return;
      Promise.all(ids.map((id) => this.#register(address, id))).catch(() =>
        this.#resubscribeLater(address, attempt + 1),
      );
    }, backoffMs(attempt)).unref();
  }

  #onClientData(connection: Connection, chunk: Buffer): void {
    connection.uses++;
    let frames: Buffer[];
    try {
      frames = connection.decoder.push(chunk);
    } catch (err) {
      connection.error = err as Error;
      connection.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const payload = connection.auth.open(frame);
      if (payload === undefined) {
        connection.error = new Error('a frame from the server failed authentication (is TRANSPORT_SECRET the same?)');
        this.#options.logger.warn({ address: connection.address }, `tcp: ${connection.error.message}`);
        connection.socket.destroy();
        return;
      }
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(payload);
      } catch (err) {
        this.#options.logger.warn({ err, address: connection.address }, 'tcp: unreadable message from server');
        continue;
      }
      if (envelope.type === 'reply') {
        if (envelope.ok) this.#pending.resolve(envelope.id, envelope.result);
        else this.#pending.reject(envelope.id, fromWireError(envelope.error));
      } else if (envelope.type === 'event') {
        const sub = this.#subscriptions.get(envelope.subscriptionId);
        if (sub === undefined) continue;
        void deliver(
          sub.handler,
          envelope.payload,
          { transport: 'tcp', service: sub.service, topic: envelope.topic, trace: envelope },
          this.#options.logger,
        );
      } else if (envelope.type === 'error') {
        this.#options.logger.warn(
          { address: connection.address, error: envelope.error },
          'tcp: server refused our input',
        );
      }
    }
  }

  // ---- server side -------------------------------------------------------------------

  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const server = await TcpServer.start({
      service,
      handlers,
      listen: this.#options.route(service).listen,
      maxMessageBytes: this.maxMessageBytes,
      shutdownGraceMs: this.#options.shutdownGraceMs,
      logger: this.#options.logger,
      sealer: this.#sealer,
      tls: this.#tls,
      stats: this.stats,
      limits: this.#limits,
      counter: this.#counter,
      onClosed: this.#servers.forget(service),
    });
    return this.#servers.add(service, server);
  }

  publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    return this.#servers.publish(service, topic, event, options);
  }

  // ---- lifecycle ---------------------------------------------------------------------

  close(): Promise<void> {
    return this.#closing.close(
      () => this.#servers.closeAll(),
      async () => {
        this.#pending.rejectAll(this.#closing.error());
        for (const connection of this.#connections.values()) connection.socket.destroy();
        this.#connections.clear();
      },
    );
  }
}

interface Connection extends HeldForReplica {
  socket: net.Socket;
  decoder: FrameDecoder;
  auth: FrameAuth;
  /** Requests and registrations sent on it and not yet answered. */
  pending: number;
  /** Frames written or chunks read: an idle check sees whether it moved. */
  uses: number;
  opened?: boolean;
  error?: Error;
}
