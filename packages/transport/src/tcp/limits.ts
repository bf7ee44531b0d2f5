/**
 * What a stranger can hold on a TCP server, and for how long. Without these limits, anyone
 * who reached the port could open sockets without end and keep each one busy for nothing,
 * with or without TRANSPORT_SECRET: 200 connections each holding a partial 1 MiB frame grew
 * a server by ~190 MB, and idle and slowloris (one byte at a time) connections stayed open
 * for minutes. The limits (config.ts, TCP_*):
 *
 *   on accept          over TCP_MAX_CONNECTIONS in the process, or TCP_MAX_CONNECTIONS_PER_PEER
 *                      from one address: closed at once, before any TLS work, and counted
 *   first frame        with a secret, nothing longer than a hello (57 bytes) is accepted before
 *                      the hello; without one, nothing over TCP_FIRST_FRAME_BYTES. A longer
 *                      length prefix closes the socket before a byte of the frame is buffered
 *                      (framing.ts), so an unauthenticated peer holds a few bytes, not a MiB
 *   hello              the TLS handshake (if any) and the first frame complete within
 *                      TCP_HELLO_TIMEOUT_MS of accepting, or the connection is closed
 *   every frame        once its first byte is in, complete within TCP_FRAME_TIMEOUT_MS: a byte
 *                      every few seconds cannot keep a socket and its buffer
 *   between frames     no frame, no call in flight and no subscription for TCP_IDLE_TIMEOUT_MS:
 *                      closed gracefully (end, not reset)
 *
 * Why the idle rule spares a legitimate client: a client keeps one connection per endpoint
 * and may leave it quiet for as long as it has nothing to ask. A connection with a call in
 * flight or a subscription on it is never idle (a subscriber only receives; a slow handler
 * keeps its caller waiting). For the rest, the client closes its own connection first, after
 * a third to two thirds of TCP_IDLE_TIMEOUT_MS without use (tcp/index.ts), and its next call
 * opens a new one, so a server's idle close never races a request on the wire. This was chosen
 * over a keepalive ping: no new message type, no traffic on quiet connections, and a stranger
 * gets nothing from pinging (the caps still bound it). Both ends read the same setting; a client
 * configured with a longer one than its server can lose a call to that race (UNAVAILABLE).
 *
 * The clocks are read by one sweep per server, every quarter of the shortest timeout (as
 * Node's HTTP server sweeps its header timeouts), so reading a frame arms no timer: a timeout
 * acts between 1 and 1.25 times its value.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { WireError } from '../errors.js';

/** Bounds on what strangers can hold on a TCP server: sockets, buffered bytes, time. */
export interface TcpLimits {
  maxConnections: number;
  maxConnectionsPerPeer: number;
  helloTimeoutMs: number;
  frameTimeoutMs: number;
  idleTimeoutMs: number;
  firstFrameBytes: number;
}

/**
 * Generous for services on one network (a handful of connections per peer, frames sent in
 * one go), tight enough that a stranger's sockets are few and short-lived: see below.
 */
export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxConnections: 1024,
  maxConnectionsPerPeer: 64,
  helloTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  firstFrameBytes: 4096,
};

/** Connections the limits closed or refused, by reason (all counters, but `open`). */
export interface TcpConnectionStats {
  /** Connections held now, across the process's TCP servers. */
  open: number;
  /** Refused on accept: the process already held TCP_MAX_CONNECTIONS. */
  overProcessLimit: number;
  /** Refused on accept: that address already held TCP_MAX_CONNECTIONS_PER_PEER. */
  overPeerLimit: number;
  /** Closed: a first frame announced longer than a hello (or TCP_FIRST_FRAME_BYTES). */
  oversizedFirstFrame: number;
  /** Closed: no complete hello (or first frame) within TCP_HELLO_TIMEOUT_MS. */
  helloTimeout: number;
  /** Closed: a frame started and not finished within TCP_FRAME_TIMEOUT_MS. */
  frameTimeout: number;
  /** Closed: nothing for TCP_IDLE_TIMEOUT_MS. */
  idleTimeout: number;
}

export function emptyConnectionStats(): TcpConnectionStats {
  return {
    open: 0,
    overProcessLimit: 0,
    overPeerLimit: 0,
    oversizedFirstFrame: 0,
    helloTimeout: 0,
    frameTimeout: 0,
    idleTimeout: 0,
  };
}

/** The peer's address as counted: IPv4 clients of a dual-stack listener are counted as IPv4. */
export function peerHost(socket: net.Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Open connections per process and per peer address, shared by a transport's servers. */
export class ConnectionCounter {
  readonly stats = emptyConnectionStats();
  readonly #limits: TcpLimits;
  readonly #perPeer = new Map<string, number>();

  constructor(limits: TcpLimits) {
    this.#limits = limits;
  }

  /** Count a new connection from `host`, or say which cap it is over (and count that). */
  admit(host: string): 'process' | 'peer' | undefined {
    const fromPeer = this.#perPeer.get(host) ?? 0;
    if (this.stats.open >= this.#limits.maxConnections) {
      this.stats.overProcessLimit++;
      return 'process';
    }
    if (fromPeer >= this.#limits.maxConnectionsPerPeer) {
      this.stats.overPeerLimit++;
      return 'peer';
    }
    this.#perPeer.set(host, fromPeer + 1);
    this.stats.open++;
    return undefined;
  }

  /** A connection admitted from `host` closed. */
  release(host: string): void {
    const fromPeer = (this.#perPeer.get(host) ?? 1) - 1;
    if (fromPeer <= 0) this.#perPeer.delete(host);
    else this.#perPeer.set(host, fromPeer);
    this.stats.open--;
  }
}

export type Expiry = 'helloTimeout' | 'frameTimeout' | 'idleTimeout';

/** One connection's timeouts: what it has read and when, as its server's sweep sees it. */
export class ConnectionClock {
  readonly #openedAt: number;
  #started = false;
  #lastFrameAt = 0;
  /** When the frame being read began to arrive; -1 between frames. */
  #partialSince = -1;
  /** Requests from this connection being handled (the server counts them). */
  busy = 0;
  /** Set once the peer subscribes: events then flow the other way, and its silence is normal. */
  subscribed = false;

  constructor(now = performance.now()) {
    this.#openedAt = now;
  }

  /** Whether a first frame (the hello) has arrived. */
  get started(): boolean {
    return this.#started;
  }

  /** After each chunk: how many frames it completed, and whether a frame is left half-read. */
  read(frames: number, partial: boolean, now = performance.now()): void {
    if (frames > 0) {
      this.#started = true;
      this.#lastFrameAt = now;
    }
    if (!partial) this.#partialSince = -1;
    else if (frames > 0 || this.#partialSince < 0) this.#partialSince = now;
  }

  /** The timeout this connection has run past, if any. */
  expired(limits: TcpLimits, now = performance.now()): Expiry | undefined {
    if (!this.#started) return now - this.#openedAt >= limits.helloTimeoutMs ? 'helloTimeout' : undefined;
    if (this.#partialSince >= 0) {
      return now - this.#partialSince >= limits.frameTimeoutMs ? 'frameTimeout' : undefined;
    }
    if (this.busy > 0 || this.subscribed) return undefined;
    return now - this.#lastFrameAt >= limits.idleTimeoutMs ? 'idleTimeout' : undefined;
  }
}

/** How each expiry is logged, and what a peer that may be told hears before the server hangs up. */
export const EXPIRED: Record<Expiry, { log: string; error: (limits: TcpLimits) => WireError | undefined }> = {
  helloTimeout: {
    log: 'tcp: closed a connection that sent no hello in time',
    error: (l) => ({
      code: 'DEADLINE_EXCEEDED',
      message: `tcp: no complete first frame within ${l.helloTimeoutMs} ms`,
    }),
  },
  frameTimeout: {
    log: 'tcp: closed a connection whose frame did not complete in time',
    error: (l) => ({
      code: 'DEADLINE_EXCEEDED',
      message: `tcp: a frame was not completed within ${l.frameTimeoutMs} ms`,
    }),
  },
  idleTimeout: { log: 'tcp: closed an idle connection', error: () => undefined },
};

/** How often a server reads its connections' clocks. */
export function sweepEveryMs(limits: TcpLimits): number {
  return Math.max(5, Math.min(limits.helloTimeoutMs, limits.frameTimeoutMs, limits.idleTimeoutMs) / 4);
}
