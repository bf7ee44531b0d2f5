/**
 * UDP transport: `node:dgram`, one envelope (envelope.ts) per datagram, no connection — except
 * that the messages one side sends to one address within a tick share a datagram (batch.ts): under
 * load, many requests or replies for one system call.
 *
 * Delivery guarantee — what UDP gives, and what this layer adds:
 * - Requests: the client retransmits the same datagram (same request id) with exponential
 *   backoff until a reply arrives or the caller's deadline passes; the server remembers
 *   request ids per sender until the deadline, so a handler runs AT MOST ONCE per request
 *   id per server process (a duplicate gets the first reply again). A server that restarts
 *   forgets: a request whose reply was lost may run again on the new process.
 *   A refused datagram (ICMP port unreachable) fails the call promptly with UNAVAILABLE.
 * - Events: best effort. One datagram per subscriber, not retransmitted: a lost datagram is
 *   a lost event, and a datagram the network duplicates is delivered twice.
 *   Registrations expire unless renewed (every ttl/3), so they survive a publisher restart.
 * - Size: a message is one datagram, at most 65,507 bytes (IPv4's ceiling) or the configured
 *   limit; larger ones fail with RESOURCE_EXHAUSTED and are never fragmented by us. Datagrams
 *   over the path MTU (~1,472 bytes on Ethernet) are fragmented by IP, and losing any
 *   fragment loses the whole datagram, so big messages are lost more often.
 * - Order: none. Replies are matched by id; events may arrive in any order.
 * - Trust: with TRANSPORT_SECRET every datagram is signed and checked (datagram-auth.ts);
 *   a reply or event that fails is dropped and counted, and the request retries as usual.
 *   Signed or not, a server sends no more bytes than it received to an address that has not
 *   proven it receives there (address-check.ts): a bigger reply, or a subscription, first costs
 *   one round trip for a cookie, which the client then sends with every request to that server.
 */
import type dgram from 'node:dgram';
import { fromWireError, isUnreachable, unavailable } from '../errors.js';
import { CloseOrder } from '../close-order.js';
import { ServedServers } from '../served.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../envelope.js';
import { deliver } from '../dispatch.js';
import { Retirement, ServiceEndpoints, followReplicas, parseHostPort, type HeldForReplica } from '../endpoints.js';
import { newRequestId } from '../ids.js';
import { checkSize, outgoing, requestEnvelope, type OutgoingRequest, type TransportOptions } from '../options.js';
import { PendingRequests } from '../pending.js';
import type { ClientCall } from '../tracing.js';
import { emptyAuthStats, type AuthStats } from '../signing.js';
import { RenewedSubscriptions, type LocalSubscription } from '../subscribers.js';
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
import { COOKIE_PREFIX_BYTES, answerRetry } from './address-check.js';
import { Coalescer, decodeBatch, isBatch } from './batch.js';
import { datagramAuth, type DatagramAuth } from './datagram-auth.js';
import { UdpServer } from './server.js';
import { RetransmitSchedule, type Outgoing } from './retransmit.js';
import { connect, createSocket, enlargeBuffers } from './sockets.js';

export { UdpServer, type UdpServerStats } from './server.js';

/**
 * Retransmission schedule: 50 ms is a few loopback or LAN round trips, so a lost datagram
 * costs little; doubling to 1 s keeps a slow handler from being flooded with copies.
 */
export const RETRANSMIT_FIRST_MS = 50;
export const RETRANSMIT_MAX_MS = 1_000;

/**
 * What the client side saw; the benchmark reads retransmissions as a measure of loss.
 * unauthenticated / stale / replayed count replies and events dropped by the signature check.
 */
export interface UdpClientStats extends AuthStats {
  requests: number;
  retransmissions: number;
  /** ICMP port-unreachable reports: a datagram reached a host where nobody listened. */
  refused: number;
  /** Event datagrams delivered to a local handler. */
  eventsReceived: number;
  /** Requests sent again with a cookie after a server's retry (address-check.ts). */
  addressChallenges: number;
}

/** One connected socket per remote address, shared by requests and subscriptions. */
interface Peer extends HeldForReplica {
  socket: dgram.Socket;
  ready: Promise<void>;
  /** Set once `ready` has resolved, so that a call need not wait on the promise. */
  connected: boolean;
  /** The send callback, one per peer rather than one per datagram. */
  onSent: (err: Error | null) => void;
  /** Refused since its last reply: its endpoints may be sitting out. */
  refused: boolean;
  /** Calls and registrations sent to it and not yet settled: its load, for the balancing. */
  pending: number;
  /** The server's proof that we receive at our address (address-check.ts), once it gave us one. */
  cookie: Buffer | undefined;
}

export class UdpTransport implements Transport {
  readonly kind = 'udp' as const;
  readonly maxMessageBytes: number;
  readonly stats: UdpClientStats = {
    requests: 0,
    retransmissions: 0,
    refused: 0,
    eventsReceived: 0,
    addressChallenges: 0,
    ...emptyAuthStats(),
  };
  readonly #options: TransportOptions;
  readonly #auth: DatagramAuth;
  readonly #pending = new PendingRequests<Peer>((peer) => this.#retirement.settled(peer));
  readonly #retransmits = new RetransmitSchedule<Peer>(RETRANSMIT_FIRST_MS, RETRANSMIT_MAX_MS, (entry) =>
    this.#retransmit(entry),
  );
  /** Each service's replicas; an endpoint's load is the calls and registrations waiting on its peer. */
  readonly #endpoints: ServiceEndpoints;
  readonly #peers = new Map<string, Peer>();
  /** A peer of a replica that left closes once nothing waits on it. */
  readonly #retirement = new Retirement(this.#peers, (peer) => this.#closePeer(peer));
  readonly #subscriptions: RenewedSubscriptions;
  readonly #servers = new ServedServers<UdpServer>('udp');
  readonly #closing = new CloseOrder('udp');
  /** What #transmit sends, per peer, at the end of the tick: the requests of one tick share datagrams. */
  readonly #outbox: Coalescer<Peer>;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes;
    this.#auth = datagramAuth(options.secret, 'client');
    this.#outbox = new Coalescer<Peer>({
      headerBytes: this.#auth.headerBytes,
      maxDatagramBytes: options.maxMessageBytes,
      seal: (datagram) => this.#auth.seal(datagram),
      send: (datagram, peer) => {
        try {
          peer.socket.send(datagram, peer.onSent);
        } catch (err) {
          this.#onPeerError(peer, err as Error); // the socket is closed
        }
      },
    });
    this.#subscriptions = new RenewedSubscriptions('udp', options, {
      register: (address, id, sub, timeoutMs) => this.#register(address, id, sub, timeoutMs),
      unregister: (address, id, timeoutMs) => this.#unregister(address, id, timeoutMs),
    });
    this.#endpoints = new ServiceEndpoints(
      'udp',
      (service) => this.#options.route(service).addresses,
      (endpoint) => this.#peers.get(endpoint.address)?.pending ?? 0,
      options.replicas,
    );
    followReplicas(options.replicas, [this.#endpoints, this.#subscriptions], (address) =>
      this.#retirement.retire(address),
    );
  }

  // ---- client side -------------------------------------------------------------------

  /** Not `async`: returning the pending promise itself saves a promise and its ticks per call. */
  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    let out: OutgoingRequest | undefined;
    let datagram: Buffer;
    let peer: Peer;
    try {
      out = outgoing('udp', service, method, options, this.#options.defaultTimeoutMs);
      peer = this.#peerFor(service);
      const envelope = { ...requestEnvelope(out, service, method, payload), cookie: peer.cookie };
      datagram = encodeEnvelope(envelope, this.#auth.headerBytes);
      // Room for the cookie a retry may ask for, so that sending it again never breaks the limit.
      const room = peer.cookie === undefined ? COOKIE_PREFIX_BYTES : 0;
      checkSize(datagram.length + room, this.maxMessageBytes, `request ${service}.${method}`);
    } catch (err) {
      return out === undefined ? Promise.reject(err as Error) : out.call.fail(err);
    }
    this.stats.requests++;
    out.call.sent(peer.address, datagram.length);
    return this.#exchange(peer, out.id, datagram, out.timeoutMs, `udp ${service}.${method}`, out.call);
  }

  /**
   * Send `datagram` and wait for the reply carrying `id`; the schedule (retransmit.ts) sends
   * it again on the same peer (the server de-duplicates by sender and id) until the reply or
   * the deadline. Each transmission is sealed afresh, in place: a send still queued in libuv
   * (full socket buffer) then goes out whole with the newer seal, and its twin is dropped as a replay.
   */
  #exchange(
    peer: Peer,
    id: string,
    datagram: Buffer,
    timeoutMs: number,
    describe: string,
    call?: ClientCall,
  ): Promise<unknown> {
    const reply = this.#pending.wait(id, timeoutMs, describe, peer, call);
    peer.pending++;
    if (peer.connected) {
      this.#transmit(peer, datagram);
      this.#retransmits.add(id, peer, datagram);
    } else {
      peer.ready.then(
        () => {
          if (!this.#pending.has(id)) return;
          this.#transmit(peer, datagram);
          this.#retransmits.add(id, peer, datagram);
        },
        (err: unknown) => this.#pending.reject(id, unavailable(`udp: cannot reach ${peer.address}`, err)),
      );
    }
    return reply;
  }

  /** Sealed now, sent at the end of the tick with the peer's other datagrams of this tick (batch.ts). */
  #transmit(peer: Peer, datagram: Buffer): void {
    this.#auth.seal(datagram);
    this.#outbox.add(datagram, peer);
  }

  #retransmit(entry: Outgoing<Peer>): boolean {
    if (!this.#pending.has(entry.id)) return false;
    this.stats.retransmissions++;
    this.#transmit(entry.peer, entry.datagram);
    return true;
  }

  /** The next endpoint of `service` in round robin that is not sitting out a refusal. */
  #peerFor(service: string): Peer {
    this.#closing.assertCalling();
    return this.#peer(this.#endpoints.of(service).pick().address);
  }

  #peer(address: string): Peer {
    const existing = this.#peers.get(address);
    if (existing !== undefined) {
      existing.retiring = false; // wanted again: its replica is back
      return existing;
    }
    const target = parseHostPort(address);
    const socket = createSocket(target.host);
    const peer: Peer = {
      address,
      socket,
      ready: connect(socket, target).then(() => {
        enlargeBuffers(socket);
        peer.connected = true;
      }),
      connected: false,
      refused: true, // its address may have been marked down before this socket (a name that did not resolve)
      pending: 0,
      cookie: undefined,
      onSent: (err) => {
        if (err) this.#onPeerError(peer, err);
      },
    };
    peer.ready.catch(() => {
      // A name that did not resolve: forget the socket so the next call looks it up again.
      if (this.#peers.get(address) === peer) this.#peers.delete(address);
      socket.close();
      this.#markDown(address);
    });
    socket.on('message', (datagram) => this.#onClientDatagram(peer, datagram));
    socket.on('error', (err) => this.#onPeerError(peer, err));
    this.#peers.set(address, peer);
    return peer;
  }

  #closePeer(peer: Peer): void {
    if (this.#peers.get(peer.address) === peer) this.#peers.delete(peer.address);
    try {
      peer.socket.close();
    } catch {
      // already closed (its name did not resolve)
    }
  }

  #onPeerError(peer: Peer, err: Error): void {
    if (!isUnreachable(err)) {
      this.#options.logger.warn({ err, address: peer.address }, 'udp: client socket error');
      return;
    }
    // The kernel cannot say which datagram was refused, only that this address refuses:
    // everything waiting on it fails now rather than at its deadline.
    this.stats.refused++;
    this.#markDown(peer.address);
    this.#pending.rejectWhere(
      (tag) => tag === peer,
      unavailable(`udp: ${peer.address} refused the datagram (nothing listens there)`, err),
    );
  }

  #markDown(address: string): void {
    const peer = this.#peers.get(address);
    if (peer !== undefined) peer.refused = true;
    // One refusal episode often brings several ICMP reports: markDown counts it once.
    for (const [set, endpoint] of this.#endpoints.at(address)) set.markDown(endpoint);
  }

  /** A reply came from `peer`: its endpoints are back in rotation (a walk only after a refusal). */
  #markUp(peer: Peer): void {
    if (!peer.refused) return;
    peer.refused = false;
    for (const [set, endpoint] of this.#endpoints.at(peer.address)) set.markUp(endpoint);
  }

  #onClientDatagram(peer: Peer, datagram: Buffer): void {
    const body = this.#auth.open(datagram, this.stats);
    if (body === undefined) {
      this.#options.logger.debug({ address: peer.address }, 'udp: dropped a datagram that failed authentication');
      return;
    }
    let envelopes: { envelope: Envelope }[];
    try {
      envelopes = isBatch(body) ? decodeBatch(body) : [{ envelope: decodeEnvelope(body) }];
    } catch (err) {
      this.#options.logger.debug({ err, address: peer.address }, 'udp: unreadable datagram from server');
      return;
    }
    for (const { envelope } of envelopes) this.#onClientEnvelope(peer, envelope);
  }

  #onClientEnvelope(peer: Peer, envelope: Envelope): void {
    if (envelope.type === 'retry') {
      // Our reply waits for proof of our address: the same request again, with the cookie.
      const entry = this.#retransmits.get(envelope.id);
      const again =
        entry?.peer === peer ? answerRetry(peer, entry, envelope.cookie, this.#auth.headerBytes) : undefined;
      if (again === undefined) return;
      this.stats.addressChallenges++;
      this.#transmit(peer, again);
    } else if (envelope.type === 'reply') {
      this.#markUp(peer);
      // A duplicate reply (or one after the deadline) finds no pending entry and is dropped.
      this.#retransmits.remove(envelope.id);
      if (envelope.ok) this.#pending.resolve(envelope.id, envelope.result);
      else this.#pending.reject(envelope.id, fromWireError(envelope.error));
    } else if (envelope.type === 'event') {
      const sub = this.#subscriptions.get(envelope.subscriptionId);
      if (sub === undefined) return; // unsubscribed; the publisher forgets it when its TTL runs out
      this.stats.eventsReceived++;
      const incoming = { transport: 'udp' as const, service: sub.service, topic: envelope.topic, trace: envelope };
      void deliver(sub.handler, envelope.payload, incoming, this.#options.logger);
    }
  }

  /** Registered with every replica of `service`, and renewed (subscribers.ts): a lost registration datagram heals too. */
  subscribe(service: string, topic: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription> {
    this.#closing.assertServing();
    return this.#subscriptions.subscribe(service, topic, handler, options?.group);
  }

  #register(address: string, subscriptionId: string, sub: LocalSubscription, timeoutMs: number): Promise<unknown> {
    const envelope: Envelope = {
      type: 'subscribe',
      id: newRequestId(),
      subscriptionId,
      topic: sub.topic,
      ttlMs: this.#options.subscriptionTtlMs,
    };
    if (sub.group !== undefined) envelope.group = sub.group;
    const peer = this.#peer(address);
    if (peer.cookie !== undefined) envelope.cookie = peer.cookie;
    const datagram = encodeEnvelope(envelope, this.#auth.headerBytes);
    return this.#exchange(peer, envelope.id, datagram, timeoutMs, `udp subscribe ${sub.topic}`);
  }

  /** Acknowledged if possible; a publisher that missed it stops sending when the TTL runs out. */
  #unregister(address: string, subscriptionId: string, timeoutMs: number): Promise<unknown> {
    const envelope: Envelope = { type: 'unsubscribe', id: newRequestId(), subscriptionId };
    const datagram = encodeEnvelope(envelope, this.#auth.headerBytes);
    return this.#exchange(this.#peer(address), envelope.id, datagram, timeoutMs, 'udp unsubscribe');
  }

  // ---- server side -------------------------------------------------------------------

  async serve(service: string, handlers: Handlers): Promise<Listener> {
    this.#closing.assertServing();
    const server = await UdpServer.start({
      service,
      handlers,
      listen: this.#options.route(service).listen,
      maxMessageBytes: this.maxMessageBytes,
      shutdownGraceMs: this.#options.shutdownGraceMs,
      subscriptionTtlMs: this.#options.subscriptionTtlMs,
      logger: this.#options.logger,
      auth: datagramAuth(this.#options.secret, 'server'),
      onClosed: this.#servers.forget(service),
    });
    return this.#servers.add(service, server);
  }

  /** The client's tallies, and its servers' summed (`server…`). */
  counters(): Record<string, number> {
    const figures: Record<string, number> = { ...this.stats };
    for (const server of this.#servers.values()) {
      for (const [name, value] of Object.entries(server.stats)) {
        const key = `server${name[0]!.toUpperCase()}${name.slice(1)}`;
        figures[key] = (figures[key] ?? 0) + value;
      }
    }
    return figures;
  }

  /** The listener serving `service` in this process, e.g. to read its stats. */
  server(service: string): UdpServer | undefined {
    return this.#servers.get(service);
  }

  publish(service: string, topic: string, event: unknown, options?: PublishOptions): Promise<void> {
    return this.#servers.publish(service, topic, event, options);
  }

  // ---- lifecycle ---------------------------------------------------------------------

  close(): Promise<void> {
    return this.#closing.close(
      () => this.#servers.closeAll(),
      () => this.#closeClients(),
    );
  }

  async #closeClients(): Promise<void> {
    this.#subscriptions.close();
    this.#pending.rejectAll(this.#closing.error());
    this.#retransmits.clear();
    await Promise.all(
      [...this.#peers.values()].map(
        (peer) =>
          new Promise<void>((resolve) => {
            try {
              peer.socket.close(() => resolve());
            } catch {
              resolve(); // already closed (its name did not resolve)
            }
          }),
      ),
    );
    this.#peers.clear();
  }
}
