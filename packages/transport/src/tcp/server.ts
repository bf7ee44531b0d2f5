/**
 * One served service on TCP: a listening socket (node:net, or node:tls with TCP_TLS_*)
 * whose connections carry frames (framing.ts) of envelopes (envelope.ts), each request run through
 * the shared dispatch(); it also keeps the service's event subscribers, one per connection.
 *
 * With TRANSPORT_SECRET, a connection's first frame must be a valid hello and every frame
 * after it must carry a valid MAC (session.ts). A connection that fails is closed at once,
 * answered with nothing, counted by reason and logged once; the others carry on.
 * Every connection, with or without a secret, is held to the caps and timeouts of limits.ts.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpLimits } from './limits.js';
import { TransportError, toWireError, type WireError } from '../errors.js';
import { decodeEnvelope, encodeEnvelope, idOf, type Envelope, type ReplyBody } from '../envelope.js';
import { dispatch, InFlight, wrongService, type IncomingRequest } from '../dispatch.js';
import { formatHostPort, parseHostPort } from '../endpoints.js';
import type { Logger } from '../logger.js';
import { checkSize } from '../options.js';
import { MAC_BYTES, SEALED_HEADER_BYTES, type AuthStats, type Refusal, type Sealer } from '../signing.js';
import { SubscriberRegistry } from '../subscribers.js';
import type { TraceCarrier } from '../tracing.js';
import type { Handlers, Listener } from '../transport.js';
import { writeFrame } from './coalesce.js';
import { FRAME_HEADER_BYTES, FrameDecoder, withLength, type FrameError } from './framing.js';
import { ConnectionClock, EXPIRED, peerHost, sweepEveryMs, type ConnectionCounter } from './limits.js';
import { UNSIGNED_FRAMES, acceptSession, isUnsignedHello, type FrameAuth } from './session.js';
import { createSocketServer, serverSockets, type TcpTls } from './tls.js';

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
  limits: TcpLimits;
  /** Open connections per process and per peer, shared by the transport's servers. */
  counter: ConnectionCounter;
  /** Called once the listener has closed. */
  onClosed: (server: TcpServer) => void;
}

/** A client as the server sees it; `auth` is undefined until its hello checks out. */
interface Peer {
  /** The accepted socket until TLS (if on) is set up, then the TLS socket. */
  socket: net.Socket;
  /** Frames can flow: TLS (if on) is set up. */
  ready: boolean;
  /** host:port, for spans and log lines. */
  address: string;
  auth: FrameAuth | undefined;
  clock: ConnectionClock;
  /** Set when the server has decided to hang up: nothing more it sends is read. */
  closing: boolean;
}

export class TcpServer implements Listener {
  readonly service: string;
  readonly #options: TcpServerOptions;
  readonly #server: net.Server;
  readonly #peers = new Set<Peer>();
  readonly #secure: ReturnType<typeof serverSockets>;
  #sweep: NodeJS.Timeout | undefined;
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
    this.#server = createSocketServer((raw) => this.#onAccept(raw));
    this.#secure = serverSockets(options.tls);
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
    this.#sweep = setInterval(() => this.#expire(), sweepEveryMs(this.#options.limits)).unref();
  }

  /** A new socket: admitted under the caps (or closed at once), its clock started, TLS set up if on. */
  #onAccept(raw: net.Socket): void {
    const { counter, logger, sealer } = this.#options;
    const host = peerHost(raw);
    const over = counter.admit(host);
    if (over !== undefined) {
      logger.warn(
        { service: this.service, from: host, limit: over },
        `tcp: refused a connection over the ${over} limit`,
      );
      raw.destroy();
      return;
    }
    // With a secret, nothing is trusted (nor answered) before the hello.
    const peer: Peer = {
      socket: raw,
      ready: false,
      address: `${raw.remoteAddress}:${raw.remotePort}`,
      auth: sealer === undefined ? UNSIGNED_FRAMES : undefined,
      clock: new ConnectionClock(),
      closing: false,
    };
    this.#peers.add(peer);
    raw.on('error', () => {}); // 'close' follows; a peer's reset is not our failure
    raw.once('close', () => {
      counter.release(host);
      this.#peers.delete(peer);
      this.#registry.removeWhere((entry) => entry.sink === peer);
    });
    this.#secure(
      raw,
      (socket) => this.#onConnection(peer, socket),
      (err) =>
        logger.warn(
          { service: this.service, from: peer.address, err: err.message },
          'tcp: TLS handshake with a client failed',
        ),
    );
  }

  #onConnection(peer: Peer, socket: net.Socket): void {
    if (peer.closing) return void socket.destroy();
    peer.socket = socket;
    peer.ready = true;
    const { sealer, maxMessageBytes, limits } = this.#options;
    // Before the hello, only a hello's worth of bytes: a stranger's 1 MiB length prefix is refused unread.
    const decoder =
      sealer === undefined
        ? new FrameDecoder(maxMessageBytes, Math.max(limits.firstFrameBytes, SEALED_HEADER_BYTES))
        : new FrameDecoder(maxMessageBytes + MAC_BYTES, SEALED_HEADER_BYTES);
    socket.on('data', (chunk) => {
      if (peer.closing) return;
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.#badStream(peer, err as FrameError);
        return;
      }
      const first = !peer.clock.started;
      peer.clock.read(frames.length, decoder.buffered > 0);
      for (const [i, frame] of frames.entries()) {
        if (peer.auth === undefined) {
          const accepted = acceptSession(sealer!, frame);
          if (typeof accepted === 'string') return this.#refuse(peer, accepted);
          peer.auth = accepted;
          continue;
        }
        if (first && i === 0 && sealer === undefined && isUnsignedHello(frame)) continue;
        const payload = peer.auth.open(frame);
        if (payload === undefined) return this.#refuse(peer, 'unauthenticated');
        this.#onFrame(peer, payload);
      }
    });
    socket.on('error', () => {});
  }

  /** The stream can no longer be split into frames: say why (if the peer may be told), then hang up. */
  #badStream(peer: Peer, err: FrameError): void {
    if (err.tooLarge && !peer.clock.started) {
      this.#options.counter.stats.oversizedFirstFrame++;
      this.#options.logger.warn(
        { service: this.service, from: peer.address },
        'tcp: closed a connection whose first frame was over the limit',
      );
    } else if (peer.auth === undefined) {
      this.#options.stats.unauthenticated++;
    }
    const code = err.tooLarge ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
    this.#hangUp(peer, { code, message: `tcp: ${err.message}` }, true);
  }

  /** Close every connection past one of its timeouts; runs every sweepEveryMs(). */
  #expire(): void {
    const { limits, counter, logger } = this.#options;
    const now = performance.now();
    for (const peer of this.#peers) {
      const expired = peer.closing ? undefined : peer.clock.expired(limits, now);
      if (expired === undefined) continue;
      counter.stats[expired]++;
      const fields = { service: this.service, from: peer.address };
      if (expired === 'idleTimeout') logger.debug(fields, EXPIRED[expired].log);
      else logger.warn(fields, EXPIRED[expired].log);
      // A quiet peer is let go gently; one that stalled mid-frame or never spoke is cut off.
      this.#hangUp(peer, EXPIRED[expired].error(limits), expired === 'idleTimeout');
    }
  }

  /**
   * Stop reading a peer and close its connection. A stranger (unauthenticated, or no complete
   * frame yet) is closed at once and told nothing it could use: `error` only without a secret.
   * Else `error` (if any) is written first; `gracefully`, the peer may still read it and hang up
   * (within a second), otherwise the socket is closed right after the write.
   */
  #hangUp(peer: Peer, error: WireError | undefined, gracefully: boolean): void {
    peer.closing = true;
    if (error !== undefined) this.#send(peer, { type: 'error', error });
    if (!gracefully || !peer.clock.started || peer.auth === undefined || !peer.ready) {
      // Hand the error (corked by writeFrame until the tick's end) to the kernel before closing.
      while (peer.socket.writableCorked > 0) peer.socket.uncork();
      peer.socket.destroy();
      return;
    }
    peer.socket.end();
    setTimeout(() => peer.socket.destroy(), 1_000).unref();
  }

  /** Hang up on a client that failed authentication: counted, logged once (per connection), never answered. */
  #refuse(peer: Peer, reason: Refusal): void {
    this.#options.stats[reason]++;
    this.#options.logger.warn(
      { service: this.service, from: peer.address, reason },
      'tcp: closed a connection that failed authentication',
    );
    peer.closing = true;
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
        peer.clock.busy++;
        void body.then((settled) => {
          this.#inFlight.leave();
          peer.clock.busy--;
          this.#reply(peer, id, settled);
        });
        return;
      }
      case 'subscribe':
        peer.clock.subscribed = true;
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
    if (!peer.ready || peer.socket.destroyed || peer.socket.writableEnded || peer.auth === undefined) return;
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
      await Promise.all([...this.#peers].map((peer) => endSocket(peer.socket)));
      clearInterval(this.#sweep);
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
