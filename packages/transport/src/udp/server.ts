/**
 * One served service on UDP: a bound socket that runs each request datagram through the
 * shared dispatch() once per request id (ReplyCache), keeps the service's event
 * subscribers, and counts what it received and dropped.
 *
 * Input it cannot use (too big, unsigned or badly signed, stale or replayed, not an
 * envelope, a type a server does not take) is dropped without a reply: a UDP sender's
 * address may be spoofed, so an answer to garbage would turn this server into an
 * amplifier aimed at a third party. With TRANSPORT_SECRET, nothing is parsed before the
 * signature checks out (datagram-auth.ts). For the same reason a reply bigger than its request,
 * and a subscription, wait until the sender has proven its address (address-check.ts).
 */
import type dgram from 'node:dgram';
import { TransportError, toWireError } from '../errors.js';
import { decodeEnvelope, encodeEnvelope, type Envelope, type ReplyBody } from '../envelope.js';
import { dispatch, InFlight, wrongService, type IncomingRequest } from '../dispatch.js';
import { formatHostPort, parseHostPort, type HostPort } from '../endpoints.js';
import type { Logger } from '../logger.js';
import { checkSize } from '../options.js';
import type { AuthStats } from '../signing.js';
import { SubscriberRegistry } from '../subscribers.js';

import type { TraceCarrier } from '../tracing.js';
import type { Handlers, Listener } from '../transport.js';
import { AddressCheck } from './address-check.js';
import { Coalescer, decodeBatch, isBatch } from './batch.js';
import type { DatagramAuth } from './datagram-auth.js';
import { ReplyCache } from './reply-cache.js';
import { bind, createSocket, enlargeBuffers, send } from './sockets.js';

type RequestEnvelope = Extract<Envelope, { type: 'request' }>;

/** A finished request's reply is kept this long past its deadline, for retransmissions still in the network. */
const DEDUPE_MARGIN_MS = 2_000;
const PRUNE_EVERY_MS = 1_000;
/** At 64 KiB per reply the byte bound bites first; small replies are bounded by count. */
const REPLY_CACHE_LIMITS = { maxEntries: 20_000, maxBytes: 32 * 1024 * 1024 };
/** The messages a server acts on; in a batch, any other drops the whole datagram. */
const SERVER_TAKES = new Set<Envelope['type']>(['request', 'subscribe', 'unsubscribe']);
/** A subscriber cannot ask to be remembered for longer than this without renewing. */
const MAX_SUBSCRIPTION_TTL_MS = 10 * 60_000;

/**
 * What the server saw; read by tests, the benchmark and (later) metrics. unauthenticated /
 * stale / replayed: dropped by the signature check (TRANSPORT_SECRET), before parsing.
 */
export interface UdpServerStats extends AuthStats {
  /** Datagrams that arrived, whatever they held. */
  received: number;
  /** Requests that ran (each request id once). */
  requests: number;
  /** Dropped: not a valid envelope, or a type a server does not accept. */
  malformed: number;
  /** Dropped: longer than the transport's message limit. */
  oversized: number;
  /** Retransmissions answered with the reply already sent. */
  duplicatesAnswered: number;
  /** Retransmissions that arrived while the handler was still running. */
  duplicatesIgnored: number;
  /** Replies over the limit, replaced by a RESOURCE_EXHAUSTED error. */
  oversizedReplies: number;
  /** Event datagrams sent to subscribers. */
  eventsSent: number;
  /**
   * Retries sent (address-check.ts): a reply bigger than its request, or a subscription, held
   * back until the sender returns the cookie that proves its address.
   */
  addressChallenges: number;
}

export interface UdpServerOptions {
  service: string;
  handlers: Handlers;
  listen: string;
  maxMessageBytes: number;
  shutdownGraceMs: number;
  subscriptionTtlMs: number;
  logger: Logger;
  auth: DatagramAuth;
  /** Called once the socket is closed. */
  onClosed: (server: UdpServer) => void;
}

export class UdpServer implements Listener {
  readonly stats: UdpServerStats = {
    received: 0,
    requests: 0,
    malformed: 0,
    oversized: 0,
    duplicatesAnswered: 0,
    duplicatesIgnored: 0,
    oversizedReplies: 0,
    eventsSent: 0,
    addressChallenges: 0,
    unauthenticated: 0,
    stale: 0,
    replayed: 0,
  };
  readonly service: string;
  readonly registry = new SubscriberRegistry<HostPort>();
  readonly #options: UdpServerOptions;
  readonly #socket: dgram.Socket;
  readonly #inFlight = new InFlight();
  readonly #cache = new ReplyCache(REPLY_CACHE_LIMITS);
  readonly #addresses = new AddressCheck();
  /** Replies to one sender in one tick share datagrams (batch.ts); keyed by the request datagram's sender. */
  readonly #outbox: Coalescer<dgram.RemoteInfo>;
  readonly #pruneTimer: NodeJS.Timeout;
  #address = '';
  #closing: Promise<void> | undefined;
  #socketClosed = false;

  static async start(options: UdpServerOptions): Promise<UdpServer> {
    const listen = parseHostPort(options.listen);
    const socket = createSocket(listen.host);
    await bind(socket, listen);
    return new UdpServer(options, socket);
  }

  private constructor(options: UdpServerOptions, socket: dgram.Socket) {
    this.#options = options;
    this.service = options.service;
    this.#socket = socket;
    this.#outbox = new Coalescer<dgram.RemoteInfo>({
      headerBytes: options.auth.headerBytes,
      maxDatagramBytes: options.maxMessageBytes,
      seal: (datagram) => options.auth.seal(datagram),
      send: (datagram, to) => {
        if (this.#socketClosed) return;
        try {
          this.#socket.send(datagram, to.port, to.address);
        } catch {
          // The socket closed under us: as lost.
        }
      },
    });
    enlargeBuffers(socket);
    const bound = socket.address();
    this.#address = formatHostPort({ host: bound.address, port: bound.port });
    socket.on('message', (datagram, from) => this.#onDatagram(datagram, from));
    socket.on('error', (err) => options.logger.warn({ err, service: this.service }, 'udp: server socket error'));
    this.#pruneTimer = setInterval(() => this.#cache.prune(), PRUNE_EVERY_MS).unref();
  }

  get address(): string {
    return this.#address;
  }

  /** Finished replies held for retransmissions (count and bytes), for tests and metrics. */
  get cached(): { entries: number; bytes: number; evictions: number } {
    return { entries: this.#cache.size, bytes: this.#cache.bytes, evictions: this.#cache.evictions };
  }

  #onDatagram(datagram: Buffer, from: dgram.RemoteInfo): void {
    this.stats.received++;
    if (datagram.length > this.#options.maxMessageBytes) {
      this.stats.oversized++;
      this.#options.logger.debug(
        { from: formatHostPort(hostPortOf(from)), bytes: datagram.length },
        'udp: dropped oversized datagram',
      );
      return;
    }
    const body = this.#options.auth.open(datagram, this.stats);
    if (body === undefined) {
      this.#options.logger.debug(
        { from: formatHostPort(hostPortOf(from)) },
        'udp: dropped a datagram that failed authentication',
      );
      return;
    }
    // A batch (batch.ts) is read whole before any of it runs: one bad message drops it all.
    let envelopes: { envelope: Envelope; bytes: number }[];
    try {
      envelopes = isBatch(body) ? decodeBatch(body) : [{ envelope: decodeEnvelope(body), bytes: body.length }];
    } catch (err) {
      this.#dropMalformed(from, (err as Error).message);
      return;
    }
    if (envelopes.length === 1) {
      this.#onEnvelope(envelopes[0]!.envelope, from, envelopes[0]!.bytes, datagram.length);
      return;
    }
    const stranger = envelopes.find(({ envelope }) => !SERVER_TAKES.has(envelope.type));
    if (stranger !== undefined) {
      this.#dropMalformed(from, `a server does not accept ${stranger.envelope.type} messages`);
      return;
    }
    // Each weighs what it would have alone, so that its reply is held to its own size.
    const header = this.#options.auth.headerBytes;
    for (const { envelope, bytes } of envelopes) this.#onEnvelope(envelope, from, bytes, bytes + header);
  }

  /** One message from `from`: `bytes` its size, `received` the datagram's it came in (or its share of a batch). */
  #onEnvelope(envelope: Envelope, from: dgram.RemoteInfo, bytes: number, received: number): void {
    switch (envelope.type) {
      case 'request':
        this.#onRequest(envelope, from, bytes, received);
        return;
      case 'subscribe': {
        // Events will follow, however small this datagram: only to an address that proved it listens.
        if (!this.#addresses.verify(envelope.cookie, from.address, from.port)) {
          this.#challenge(envelope.id, from, received);
          return;
        }
        const ttlMs = Math.min(envelope.ttlMs ?? this.#options.subscriptionTtlMs, MAX_SUBSCRIPTION_TTL_MS);
        const { subscriptionId, topic, group } = envelope;
        const sink = hostPortOf(from);
        this.registry.upsert({ subscriptionId, topic, group, sink, expiresAt: Date.now() + ttlMs });
        this.#sendReply(this.#replyDatagram(envelope.id, { ok: true }), from);
        return;
      }
      case 'unsubscribe':
        this.registry.remove(envelope.subscriptionId);
        this.#sendReply(this.#replyDatagram(envelope.id, { ok: true }), from);
        return;
      default:
        this.#dropMalformed(from, `a server does not accept ${envelope.type} messages`);
    }
  }

  #dropMalformed(from: dgram.RemoteInfo, reason: string): void {
    this.stats.malformed++;
    this.#options.logger.debug({ from: formatHostPort(hostPortOf(from)), reason }, 'udp: dropped malformed datagram');
  }

  /** `bytes`: the envelope's size; `received`: the whole datagram's, what a reply is weighed against. */
  #onRequest(envelope: RequestEnvelope, from: dgram.RemoteInfo, bytes: number, received: number): void {
    // The id is only unique per client, hence the sender's address and port with it.
    const known = this.#cache.lookup(from.address, from.port, envelope.id);
    if (known.state === 'running') {
      this.stats.duplicatesIgnored++;
      return;
    }
    if (known.state === 'done') {
      this.stats.duplicatesAnswered++;
      if (this.#mayReceive(known.datagram, from, received, envelope.cookie)) {
        this.#sendReply(this.#options.auth.resealed(known.datagram), from);
      } else {
        this.#challenge(envelope.id, from, received);
      }
      return;
    }
    if (this.#closing !== undefined) {
      // Silence would cost the caller its whole deadline; UNAVAILABLE tells it to go elsewhere.
      const error = new TransportError('UNAVAILABLE', `udp: ${this.service} is shutting down`);
      const reply = this.#replyDatagram(envelope.id, { ok: false, error: error.toJSON() });
      if (this.#mayReceive(reply, from, received, envelope.cookie)) this.#sendReply(reply, from);
      else this.#challenge(envelope.id, from, received);
      return;
    }
    this.stats.requests++;
    this.#cache.markRunning(from.address, from.port, envelope.id);
    const deadline = Date.now() + envelope.timeoutMs;
    if (envelope.service !== this.service) {
      this.#answer(
        envelope.id,
        from,
        received,
        envelope.cookie,
        deadline,
        wrongService(this.service, envelope.service),
      );
      return;
    }
    const request: IncomingRequest = {
      transport: 'udp',
      service: this.service,
      method: envelope.method,
      trace: envelope,
      deadline,
      peer: `${from.address}:${from.port}`,
      bytes,
    };
    const body = dispatch(this.#options.handlers, request, envelope.payload, this.#options.logger);
    if (!(body instanceof Promise)) {
      this.#answer(envelope.id, from, received, envelope.cookie, deadline, body);
      return;
    }
    this.#inFlight.enter();
    void body.then((settled) => {
      this.#inFlight.leave();
      this.#answer(envelope.id, from, received, envelope.cookie, deadline, settled);
    });
  }

  /**
   * Remember the reply for retransmissions, and send it, or a retry if the sender has yet to
   * prove its address (`received`, `cookie`: what its request datagram weighed and carried).
   */
  #answer(
    id: string,
    to: dgram.RemoteInfo,
    received: number,
    cookie: Buffer | undefined,
    deadline: number,
    body: ReplyBody,
  ): void {
    let datagram: Buffer;
    try {
      datagram = this.#replyDatagram(id, body);
    } catch (err) {
      // Only encoding can throw here (a result JSON cannot express): answer so the caller need not wait.
      this.#options.logger.error({ err, service: this.service }, 'udp: could not reply');
      datagram = this.#replyDatagram(id, { ok: false, error: toWireError(err) });
    }
    this.#cache.finish(to.address, to.port, id, datagram, Math.max(deadline, Date.now()) + DEDUPE_MARGIN_MS);
    if (this.#mayReceive(datagram, to, received, cookie)) this.#sendReply(datagram, to);
    else this.#challenge(id, to, received);
  }

  /** A reply no bigger than the request amplifies nothing; a bigger one needs a proven address. */
  #mayReceive(reply: Buffer, to: dgram.RemoteInfo, received: number, cookie: Buffer | undefined): boolean {
    return reply.length <= received || this.#addresses.verify(cookie, to.address, to.port);
  }

  /**
   * Ask the sender of a `received`-byte datagram to send request `id` again with the cookie of its
   * address; never with more bytes than it sent (a request too small for that gets nothing).
   */
  #challenge(id: string, to: dgram.RemoteInfo, received: number): void {
    const { auth } = this.#options;
    const cookie = this.#addresses.cookieFor(to.address, to.port);
    const retry = encodeEnvelope({ type: 'retry', id, cookie }, auth.headerBytes);
    if (retry.length > received) return;
    auth.seal(retry);
    this.stats.addressChallenges++;
    this.#sendReply(retry, to);
  }

  /**
   * Fire and forget, at the end of the tick with the other replies to `to` (batch.ts): a reply
   * that fails to leave is a lost datagram, which the client's retransmission recovers (and the
   * cache answers). No callback, so no promise or completion callback per reply either.
   */
  #sendReply(datagram: Buffer, to: dgram.RemoteInfo): void {
    if (!this.#socketClosed) this.#outbox.add(datagram, to);
  }

  /** The reply as one sealed datagram; one over the limit becomes a RESOURCE_EXHAUSTED error. */
  #replyDatagram(id: string, body: ReplyBody): Buffer {
    const { auth } = this.#options;
    let datagram = encodeEnvelope({ type: 'reply', id, ...body }, auth.headerBytes);
    if (datagram.length > this.#options.maxMessageBytes) {
      this.stats.oversizedReplies++;
      const message = `reply is ${datagram.length} bytes, over this transport's limit of ${this.#options.maxMessageBytes} bytes`;
      const error = { code: 'RESOURCE_EXHAUSTED', message } as const;
      datagram = encodeEnvelope({ type: 'reply', id, ok: false, error }, auth.headerBytes);
    }
    auth.seal(datagram);
    return datagram;
  }

  /**
   * One datagram per registered target; refused whole if the event is over the limit. Says how
   * many copies went out and the size of one.
   */
  async publish(topic: string, event: unknown, trace: TraceCarrier): Promise<{ copies: number; bytes: number }> {
    const { traceparent, tracestate } = trace;
    const outgoing = this.registry.targets(topic).map((target) => {
      const datagram = encodeEnvelope(
        { type: 'event', subscriptionId: target.subscriptionId, topic, payload: event, traceparent, tracestate },
        this.#options.auth.headerBytes,
      );
      checkSize(datagram.length, this.#options.maxMessageBytes, `event ${topic}`);
      this.#options.auth.seal(datagram);
      return { datagram, to: target.sink };
    });
    const bytes = outgoing[0]?.datagram.length ?? 0;
    if (this.#socketClosed) return { copies: 0, bytes };
    const errors = await Promise.all(outgoing.map(({ datagram, to }) => send(this.#socket, datagram, to)));
    let copies = 0;
    errors.forEach((err, i) => {
      if (err === undefined) {
        this.stats.eventsSent++;
        copies++;
      } else {
        this.#options.logger.debug({ err, topic, to: formatHostPort(outgoing[i]!.to) }, 'udp: event not sent');
      }
    });
    return { copies, bytes };
  }

  /** Stop taking requests, let those running finish (up to the grace period), then close. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#inFlight.drained(this.#options.shutdownGraceMs);
      clearInterval(this.#pruneTimer);
      this.#cache.clear();
      this.#outbox.flush(); // the replies of the last handlers, still waiting for the end of the tick
      this.#socketClosed = true;
      await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
      this.#options.onClosed(this);
    })();
    return this.#closing;
  }
}

function hostPortOf(from: dgram.RemoteInfo): HostPort {
  return { host: from.address, port: from.port };
}
