/**
 * TCP transport: `node:net`, length-prefixed frames (framing.ts) carrying JSON envelopes.
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
 * TLS (TCP_TLS_*): tls.ts.
 */
import type net from 'node:net';
import { TransportError, fromWireError, unavailable } from '../errors.js';
import { decodeEnvelope, encodeEnvelope, idOf, type Envelope, type ReplyBody } from '../envelope.js';
import { dispatch, deliver, InFlight } from '../dispatch.js';
import { EndpointSet, backoffMs, formatHostPort, parseHostPort, type EndpointState } from '../endpoints.js';
import { newRequestId, newSubscriptionId, newTraceId } from '../ids.js';
import { checkSize, outgoing, type TransportOptions } from '../options.js';
import { PendingRequests } from '../pending.js';
import { MAC_BYTES, Sealer, emptyAuthStats, secretBytes, type AuthStats, type Refusal } from '../signing.js';
import { SubscriberRegistry, type LocalSubscription } from '../subscribers.js';
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
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, encodeFrame } from './framing.js';
import { UNSIGNED_FRAMES, acceptSession, openSession, type FrameAuth } from './session.js';
import { connectSocket, createSocketServer, loadTcpTls, type TcpTls } from './tls.js';

/** A subscriber this far behind (bytes queued in its socket) misses events, not memory. */
const SLOW_SUBSCRIBER_BYTES = 8 * 1024 * 1024;

export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  readonly maxMessageBytes: number;
  readonly #options: TransportOptions;
  readonly #pending = new PendingRequests<Connection>();
  readonly #endpoints = new Map<string, EndpointSet>();
  readonly #connections = new Map<string, Connection>();
  readonly #subscriptions = new Map<string, LocalSubscription<{ addresses: string[] }>>();
  readonly #registries = new Map<string, SubscriberRegistry<ServerPeer>>();
  readonly #listeners = new Set<Listener>();
  /** Signs hellos; undefined without TRANSPORT_SECRET. */
  readonly #sealer: Sealer | undefined;
  /** Room for a MAC in each frame's body. */
  readonly #macBytes: number;
  readonly #tls: TcpTls;
  /** Connections this transport's servers refused, by reason. */
  readonly stats: AuthStats = emptyAuthStats();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes;
    this.#sealer = options.secret === undefined ? undefined : new Sealer(secretBytes(options.secret));
    this.#macBytes = this.#sealer === undefined ? 0 : MAC_BYTES;
    this.#tls = loadTcpTls(options.tcpTls);
  }

  // ---- client side -------------------------------------------------------------------

  async request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    const out = outgoing(options, this.#options.defaultTimeoutMs);
    const envelope: Envelope = {
      type: 'request',
      id: out.id,
      service,
      method,
      payload,
      traceId: out.traceId,
      timeoutMs: out.timeoutMs,
    };
    const frame = encodeFrame(encodeEnvelope(envelope), this.#macBytes);
    checkSize(frame.length - FRAME_HEADER_BYTES - this.#macBytes, this.maxMessageBytes, `request ${service}.${method}`);
    const connection = this.#connectionFor(service);
    const reply = this.#pending.wait(out.id, out.timeoutMs, `tcp ${service}.${method}`, connection);
    connection.auth.seal(frame);
    connection.socket.write(frame);
    return reply;
  }

  async subscribe(
    service: string,
    topic: string,
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.#assertOpen();
    const subscriptionId = newSubscriptionId();
    const addresses = this.#options.route(service).addresses;
    this.#subscriptions.set(subscriptionId, { service, topic, group: options?.group, handler, extra: { addresses } });
    // Register with every replica: each publishes its own events.
    await Promise.all(addresses.map((address) => this.#register(address, subscriptionId)));
    return {
      close: async () => {
        this.#subscriptions.delete(subscriptionId);
        await Promise.allSettled(
          addresses.map((address) =>
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
    const frame = encodeFrame(encodeEnvelope(envelope), this.#macBytes);
    connection.auth.seal(frame);
    connection.socket.write(frame);
    return reply;
  }

  #connectionFor(service: string): Connection {
    this.#assertOpen();
    let endpoints = this.#endpoints.get(service);
    if (endpoints === undefined) {
      endpoints = new EndpointSet(this.#options.route(service).addresses);
      this.#endpoints.set(service, endpoints);
    }
    // Prefer an endpoint whose connection is already open; else the next one not sitting out.
    const endpoint = endpoints.pick();
    if (endpoint === undefined) {
      const last = endpoints.endpoints.map((e) => e.address).join(', ');
      throw new TransportError('UNAVAILABLE', `tcp: no reachable endpoint for ${service} (tried ${last})`);
    }
    return this.#connection(endpoint.address, endpoints, endpoint);
  }

  #connection(address: string, endpoints?: EndpointSet, endpoint?: EndpointState): Connection {
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.socket.destroyed) return existing;
    const { host, port } = parseHostPort(address);
    const { socket, readyEvent } = connectSocket(host, port, this.#tls);
    const decoder = new FrameDecoder(this.maxMessageBytes + 1024 + this.#macBytes);
    let auth = UNSIGNED_FRAMES;
    if (this.#sealer !== undefined) {
      const session = openSession(this.#sealer);
      socket.write(session.hello); // first, before any frame
      auth = session.auth;
    }
    const connection: Connection = { address, socket, decoder, auth };
    this.#connections.set(address, connection);
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

  /** After a connection drops, register its subscriptions again once it can reconnect. */
  #resubscribeLater(address: string, attempt: number): void {
    const ids = [...this.#subscriptions].filter(([, s]) => s.extra.addresses.includes(address)).map(([id]) => id);
    if (ids.length === 0 || this.#closed) return;
    setTimeout(() => {
      if (this.#closed) return;
      Promise.all(ids.map((id) => this.#register(address, id))).catch(() =>
        this.#resubscribeLater(address, attempt + 1),
      );
    }, backoffMs(attempt)).unref();
  }

  #onClientData(connection: Connection, chunk: Buffer): void {
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
        envelope = decodeEnvelope(payload.toString('utf8'));
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
          { service: sub.service, topic: envelope.topic, traceId: envelope.traceId, transport: 'tcp' },
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
    this.#assertOpen();
    const { host, port } = parseHostPort(this.#options.route(service).listen);
    const sockets = new Set<net.Socket>();
    const inFlight = new InFlight();
    const registry = new SubscriberRegistry<ServerPeer>();
    this.#registries.set(service, registry);
    const onConnection = (socket: net.Socket): void => {
      sockets.add(socket);
      const decoder = new FrameDecoder(this.maxMessageBytes + this.#macBytes);
      // With a secret, nothing is trusted (nor answered) before the hello.
      const peer: ServerPeer = { socket, auth: this.#sealer === undefined ? UNSIGNED_FRAMES : undefined };
      socket.on('data', (chunk) => {
        let frames: Buffer[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          // The stream can no longer be split into frames: say why, then hang up.
          const code = /exceeds/.test((err as FrameError).message) ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
          this.#send(peer, { type: 'error', error: { code, message: `tcp: ${(err as Error).message}` } });
          socket.end();
          setTimeout(() => socket.destroy(), 1_000).unref();
          return;
        }
        for (const frame of frames) {
          if (peer.auth === undefined) {
            const accepted = acceptSession(this.#sealer!, frame);
            if (typeof accepted === 'string') return this.#refuse(service, peer, accepted);
            peer.auth = accepted;
            continue;
          }
          const payload = peer.auth.open(frame);
          if (payload === undefined) return this.#refuse(service, peer, 'unauthenticated');
          void inFlight.run(() => this.#onServerFrame(service, handlers, registry, peer, payload));
        }
      });
      socket.on('error', () => {}); // 'close' follows; a peer's reset is not our failure
      socket.on('close', () => {
        sockets.delete(socket);
        registry.removeWhere((entry) => entry.sink === peer);
      });
    };
    const server = createSocketServer(this.#tls, onConnection, (err, socket) => {
      this.#options.logger.warn(
        { service, from: socket.remoteAddress, err: err.message },
        'tcp: TLS handshake with a client failed',
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    const listener: Listener = {
      address: formatHostPort({ host: bound.address, port: bound.port }),
      close: async () => {
        if (!this.#listeners.delete(listener)) return;
        server.close();
        await inFlight.drained(this.#options.shutdownGraceMs);
        // end(), not destroy(): replies just written still reach their callers.
        await Promise.all([...sockets].map((socket) => endSocket(socket)));
        if (this.#registries.get(service) === registry) this.#registries.delete(service);
      },
    };
    this.#listeners.add(listener);
    return listener;
  }

  /** Hang up on a client that failed authentication: counted, logged once (per connection), never answered. */
  #refuse(service: string, peer: ServerPeer, reason: Refusal): void {
    this.stats[reason]++;
    this.#options.logger.warn(
      { service, from: `${peer.socket.remoteAddress}:${peer.socket.remotePort}`, reason },
      'tcp: closed a connection that failed authentication',
    );
    peer.socket.destroy();
  }

  async #onServerFrame(
    service: string,
    handlers: Handlers,
    registry: SubscriberRegistry<ServerPeer>,
    peer: ServerPeer,
    frame: Buffer,
  ): Promise<void> {
    const text = frame.toString('utf8');
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(text);
    } catch (err) {
      const error = (err as TransportError).toJSON();
      const id = idOf(text);
      this.#send(peer, id === undefined ? { type: 'error', error } : { type: 'reply', id, ok: false, error });
      return;
    }
    switch (envelope.type) {
      case 'request': {
        const context = {
          service,
          method: envelope.method,
          traceId: envelope.traceId,
          deadline: Date.now() + envelope.timeoutMs,
          transport: 'tcp' as const,
        };
        const body =
          envelope.service === service
            ? await dispatch(handlers, context, envelope.payload, this.#options.logger)
            : wrongService(service, envelope.service);
        this.#reply(peer, envelope.id, body);
        return;
      }
      case 'subscribe':
        registry.upsert({
          subscriptionId: envelope.subscriptionId,
          topic: envelope.topic,
          group: envelope.group,
          sink: peer,
          expiresAt: Infinity,
        });
        this.#reply(peer, envelope.id, { ok: true });
        return;
      case 'unsubscribe':
        registry.remove(envelope.subscriptionId);
        this.#reply(peer, envelope.id, { ok: true });
        return;
      default:
        this.#send(peer, {
          type: 'error',
          error: { code: 'INVALID_ARGUMENT', message: `tcp: a server does not accept ${envelope.type} messages` },
        });
    }
  }

  #reply(peer: ServerPeer, id: string, body: ReplyBody): void {
    const text = encodeEnvelope({ type: 'reply', id, ...body });
    if (Buffer.byteLength(text) > this.maxMessageBytes) {
      const message = `reply is over this transport's limit of ${this.maxMessageBytes} bytes`;
      this.#send(peer, { type: 'reply', id, ok: false, error: { code: 'RESOURCE_EXHAUSTED', message } });
      return;
    }
    this.#write(peer, text);
  }

  #send(peer: ServerPeer, envelope: Envelope): void {
    this.#write(peer, encodeEnvelope(envelope));
  }

  /** One frame to a client, signed for its session; nothing to one that has not said hello. */
  #write(peer: ServerPeer, text: string): void {
    if (peer.socket.destroyed || peer.auth === undefined) return;
    const frame = encodeFrame(text, peer.auth.macBytes);
    peer.auth.seal(frame);
    peer.socket.write(frame);
  }

  async publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    const registry = this.#registries.get(service);
    if (registry === undefined) {
      throw new TransportError(
        'INTERNAL',
        `tcp: publish on ${service} needs serve(${service}) first: subscribers register with its listener`,
      );
    }
    const traceId = options?.traceId ?? newTraceId();
    for (const target of registry.targets(topic)) {
      const text = encodeEnvelope({
        type: 'event',
        subscriptionId: target.subscriptionId,
        topic,
        payload: event,
        traceId,
      });
      checkSize(Buffer.byteLength(text), this.maxMessageBytes, `event ${topic}`);
      if (target.sink.socket.writableLength > SLOW_SUBSCRIBER_BYTES) {
        this.#options.logger.warn(
          { topic, subscriptionId: target.subscriptionId },
          'tcp: subscriber too slow, event dropped',
        );
        continue;
      }
      this.#write(target.sink, text);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#listeners].map((listener) => listener.close()));
    this.#pending.rejectAll(new TransportError('UNAVAILABLE', 'tcp: transport closed'));
    for (const connection of this.#connections.values()) connection.socket.destroy();
    this.#connections.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransportError('UNAVAILABLE', 'tcp: transport closed');
  }
}

interface Connection {
  address: string;
  socket: net.Socket;
  decoder: FrameDecoder;
  auth: FrameAuth;
  opened?: boolean;
  error?: Error;
}

/** A client as a server sees it; `auth` is undefined until its hello checks out. */
interface ServerPeer {
  socket: net.Socket;
  auth: FrameAuth | undefined;
}

/** Half-close and wait for the peer to hang up too, destroying the socket if it lingers. */
function endSocket(socket: net.Socket, graceMs = 500): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

/** A request that reached a port serving another service: a misconfigured address. */
export function wrongService(served: string, asked: string): ReplyBody {
  return { ok: false, error: { code: 'UNIMPLEMENTED', message: `this endpoint serves ${served}, not ${asked}` } };
}
