/**
 * One served service on TCP: a listening socket (node:net, or node:tls with TCP_TLS_*)
 * whose connections carry frames (framing.ts) of envelopes (envelope.ts), each request run through
 * the shared dispatch(); it also keeps the service's event subscribers, one per connection.
 *
 * With TRANSPORT_SECRET, a connection's first frame must be a valid hello and every frame
 * after it must carry a valid MAC (session.ts). A connection that fails is closed at once,
 * answered with nothing, counted by reason and logged once; the others carry on.
 */
import net from 'node:net';
import { TransportError, toWireError } from '../errors.js';
import { decodeEnvelope, encodeEnvelope, idOf, type Envelope, type ReplyBody } from '../envelope.js';
import { dispatch, InFlight, type IncomingRequest } from '../dispatch.js';
import { formatHostPort, parseHostPort } from '../endpoints.js';
import type { Logger } from '../logger.js';
import { checkSize } from '../options.js';
import { MAC_BYTES, type AuthStats, type Refusal, type Sealer } from '../signing.js';
import { SubscriberRegistry } from '../subscribers.js';
import type { TraceCarrier } from '../tracing.js';
import type { Handlers, Listener } from '../transport.js';
import { writeFrame } from './coalesce.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, withLength } from './framing.js';
import { UNSIGNED_FRAMES, acceptSession, type FrameAuth } from './session.js';
import { createSocketServer, type TcpTls } from './tls.js';

/** A subscriber this far behind (bytes queued in its socket) misses events, not memory. */
const SLOW_SUBSCRIBER_BYTES = 8 * 1024 * 1024;

export interface TcpServerOptions {
  service: string;
  handlers: Handlers;
  listen: string;
  maxMessageBytes: number;
  shutdownGraceMs: number;
  logger: Logger;
  /** Checks hellos; undefined without TRANSPORT_SECRET. */
  sealer: Sealer | undefined;
  tls: TcpTls;
  /** Where refused connections are counted (shared by the transport's servers). */
  stats: AuthStats;
  /** Called once the listener has closed. */
  onClosed: (server: TcpServer) => void;
}

/** A client as the server sees it; `auth` is undefined until its hello checks out. */
interface Peer {
  socket: net.Socket;
  /** host:port, for spans and log lines. */
  address: string;
  auth: FrameAuth | undefined;
}

export class TcpServer implements Listener {
  readonly service: string;
  readonly #options: TcpServerOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #inFlight = new InFlight();
  readonly #registry = new SubscriberRegistry<Peer>();
  #address = '';
  #closing: Promise<void> | undefined;

  static async start(options: TcpServerOptions): Promise<TcpServer> {
    const server = new TcpServer(options);
    await server.#listen();
    return server;
  }

  private constructor(options: TcpServerOptions) {
    this.#options = options;
    this.service = options.service;
    this.#server = createSocketServer(
      options.tls,
      (socket) => this.#onConnection(socket),
      (err, socket) => {
        const from = `${socket.remoteAddress}:${socket.remotePort}`;
        options.logger.warn(
          { service: this.service, from, err: err.message },
          'tcp: TLS handshake with a client failed',
        );
      },
    );
  }

  get address(): string {
    return this.#address;
  }

  async #listen(): Promise<void> {
    const { host, port } = parseHostPort(this.#options.listen);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address() as net.AddressInfo;
    this.#address = formatHostPort({ host: bound.address, port: bound.port });
  }

  #onConnection(socket: net.Socket): void {
    this.#sockets.add(socket);
    const { sealer, maxMessageBytes } = this.#options;
    const decoder = new FrameDecoder(maxMessageBytes + (sealer === undefined ? 0 : MAC_BYTES));
    // With a secret, nothing is trusted (nor answered) before the hello.
    const peer: Peer = {
      socket,
      address: `${socket.remoteAddress}:${socket.remotePort}`,
      auth: sealer === undefined ? UNSIGNED_FRAMES : undefined,
    };
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
          const accepted = acceptSession(sealer!, frame);
          if (typeof accepted === 'string') return this.#refuse(peer, accepted);
          peer.auth = accepted;
          continue;
        }
        const payload = peer.auth.open(frame);
        if (payload === undefined) return this.#refuse(peer, 'unauthenticated');
        this.#onFrame(peer, payload);
      }
    });
    socket.on('error', () => {}); // 'close' follows; a peer's reset is not our failure
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.#registry.removeWhere((entry) => entry.sink === peer);
    });
  }

  /** Hang up on a client that failed authentication: counted, logged once (per connection), never answered. */
  #refuse(peer: Peer, reason: Refusal): void {
    this.#options.stats[reason]++;
    this.#options.logger.warn(
      { service: this.service, from: peer.address, reason },
      'tcp: closed a connection that failed authentication',
    );
    peer.socket.destroy();
  }

  #onFrame(peer: Peer, frame: Buffer): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(frame);
    } catch (err) {
      const error = (err as TransportError).toJSON();
      const id = idOf(frame);
      this.#send(peer, id === undefined ? { type: 'error', error } : { type: 'reply', id, ok: false, error });
      return;
    }
    switch (envelope.type) {
      case 'request': {
        if (envelope.service !== this.service) {
          this.#reply(peer, envelope.id, wrongService(this.service, envelope.service));
          return;
        }
        const request: IncomingRequest = {
          transport: 'tcp',
          service: this.service,
          method: envelope.method,
          trace: envelope,
          deadline: Date.now() + envelope.timeoutMs,
          peer: peer.address,
          bytes: frame.length,
        };
        const id = envelope.id;
        const body = dispatch(this.#options.handlers, request, envelope.payload, this.#options.logger);
        if (!(body instanceof Promise)) {
          this.#reply(peer, id, body);
          return;
        }
        this.#inFlight.enter();
        void body.then((settled) => {
          this.#inFlight.leave();
          this.#reply(peer, id, settled);
        });
        return;
      }
      case 'subscribe':
        this.#registry.upsert({
          subscriptionId: envelope.subscriptionId,
          topic: envelope.topic,
          group: envelope.group,
          sink: peer,
          expiresAt: Infinity,
        });
        this.#reply(peer, envelope.id, { ok: true });
        return;
      case 'unsubscribe':
        this.#registry.remove(envelope.subscriptionId);
        this.#reply(peer, envelope.id, { ok: true });
        return;
      default:
        this.#send(peer, {
          type: 'error',
          error: { code: 'INVALID_ARGUMENT', message: `tcp: a server does not accept ${envelope.type} messages` },
        });
    }
  }

  #reply(peer: Peer, id: string, body: ReplyBody): void {
    if (peer.socket.destroyed || peer.auth === undefined) return;
    let frame: Buffer;
    try {
      frame = encodeEnvelope({ type: 'reply', id, ...body }, FRAME_HEADER_BYTES + peer.auth.macBytes);
    } catch (err) {
      // A result JSON cannot express: answer so the caller need not wait.
      this.#options.logger.error({ err, service: this.service }, 'tcp: could not reply');
      this.#send(peer, { type: 'reply', id, ok: false, error: toWireError(err) });
      return;
    }
    const limit = this.#options.maxMessageBytes;
    if (frame.length - FRAME_HEADER_BYTES - peer.auth.macBytes > limit) {
      const message = `reply is over this transport's limit of ${limit} bytes`;
      this.#send(peer, { type: 'reply', id, ok: false, error: { code: 'RESOURCE_EXHAUSTED', message } });
      return;
    }
    this.#write(peer, frame);
  }

  #send(peer: Peer, envelope: Envelope): void {
    if (peer.socket.destroyed || peer.auth === undefined) return;
    this.#write(peer, encodeEnvelope(envelope, FRAME_HEADER_BYTES + peer.auth.macBytes));
  }

  /** One frame (FRAME_HEADER_BYTES and the MAC's room left free) to a client, signed for its session. */
  #write(peer: Peer, frame: Buffer): void {
    if (peer.socket.destroyed || peer.auth === undefined) return;
    withLength(frame);
    peer.auth.seal(frame);
    writeFrame(peer.socket, frame);
  }

  /**
   * One event frame down each registered subscriber's connection; refused whole if over the
   * limit. Says how many copies went out and the size of one.
   */
  publish(topic: string, event: unknown, trace: TraceCarrier): { copies: number; bytes: number } {
    let copies = 0;
    let bytes = 0;
    for (const target of this.#registry.targets(topic)) {
      const macBytes = target.sink.auth?.macBytes ?? 0;
      const { traceparent, tracestate } = trace;
      const frame = encodeEnvelope(
        { type: 'event', subscriptionId: target.subscriptionId, topic, payload: event, traceparent, tracestate },
        FRAME_HEADER_BYTES + macBytes,
      );
      bytes = frame.length - FRAME_HEADER_BYTES - macBytes;
      checkSize(bytes, this.#options.maxMessageBytes, `event ${topic}`);
      if (target.sink.socket.writableLength > SLOW_SUBSCRIBER_BYTES) {
        this.#options.logger.warn(
          { topic, subscriptionId: target.subscriptionId },
          'tcp: subscriber too slow, event dropped',
        );
        continue;
      }
      this.#write(target.sink, frame);
      copies++;
    }
    return { copies, bytes };
  }

  /** Stop accepting, let running requests finish (up to the grace period), then hang up. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#server.close();
      await this.#inFlight.drained(this.#options.shutdownGraceMs);
      // end(), not destroy(): replies just written still reach their callers.
      await Promise.all([...this.#sockets].map((socket) => endSocket(socket)));
      this.#options.onClosed(this);
    })();
    return this.#closing;
  }
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
