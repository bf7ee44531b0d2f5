/**
 * A bad network between a TCP client and server, for tests: every connection accepted on
 * the proxy's address is relayed to `target` over a connection of its own, in order and
 * without losing a byte while it lives (that much TCP guarantees), but late, in crumbs,
 * or cut off:
 *
 *   client ──▶ proxy.address ──▶ ┌─ + latencyMs + 0..jitterMs per chunk  ─┐ ──▶ target
 *   client ◀── (one upstream     │  chunks written as 1..sliceBytes bytes │ ◀── target
 *               connection each) └─ RST after n bytes, or per chunk ──────┘
 *
 * - latency: each chunk is held latencyMs plus up to jitterMs, each way; order is kept,
 *   so a late chunk also delays those behind it.
 * - slicing: each chunk is written as pieces of 1 to `sliceBytes` bytes, up to
 *   `sliceGapMs` apart (under 1 ms: one turn of the event loop), so the receiver gets
 *   frames, headers and UTF-8 characters cut anywhere.
 * - resets: a connection gets an RST on both sides after a random 1..`resetAfterBytes`
 *   bytes relayed (both ways together), or, with chance `resetPerChunk`, instead of
 *   relaying a chunk. `resetAll()` cuts every live connection at once.
 * - blackout (`setBlackout`): 'stall' is a partition: nothing is relayed, new connections
 *   are accepted and held, and everything queued flows on intact when it ends. 'refuse'
 *   stops listening, so new connections are refused (ECONNREFUSED) while live ones carry
 *   on; add resetAll() for a target that crashed. Listening resumes on the same port.
 *
 * Faults can be changed while it runs (`proxy.faults.resetPerChunk = 0`). With a `seed`
 * the fault decisions repeat, but chunk boundaries come from the kernel, so a run repeats
 * only as far as its chunks do.
 */
import net from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { formatHostPort, parseHostPort, type HostPort } from '../endpoints.js';
import { mulberry32, randomSeed } from './random.js';

export interface TcpFaults {
  /** Added to every chunk, each way, in ms. */
  latencyMs: number;
  /** Up to this many ms more, at random, per chunk. */
  jitterMs: number;
  /** Write each chunk as pieces of 1 to this many bytes; 0 writes chunks whole. */
  sliceBytes: number;
  /** Longest pause between two pieces of a chunk, in ms. */
  sliceGapMs: number;
  /** Reset each connection after a random 1 to this many bytes relayed; 0 never. */
  resetAfterBytes: number;
  /** Chance, 0 to 1, that a chunk resets its connection instead of being relayed. */
  resetPerChunk: number;
}

export type Blackout = 'none' | 'stall' | 'refuse';

export interface TcpProxyOptions extends Partial<TcpFaults> {
  /** `host:port` of the real server. */
  target: string;
  /** Where the proxy listens; default a free loopback port. */
  listen?: string;
  /** Makes the fault decisions repeatable. */
  seed?: number;
}

export interface TcpProxyStats {
  /** Connections accepted. */
  connections: number;
  bytesToServer: number;
  bytesToClient: number;
  /** Writes made (more than chunks received when slicing). */
  writes: number;
  /** Connections cut, by the fault that cut them. */
  resets: { afterBytes: number; perChunk: number; all: number };
  /** Connections the target refused or dropped; the client's side was reset too. */
  targetFailures: number;
}

type Direction = 'toServer' | 'toClient';
type ResetCause = keyof TcpProxyStats['resets'];

/** Bytes queued in the proxy for one direction before it stops reading from the sender. */
const QUEUE_LIMIT_BYTES = 1024 * 1024;

export class TcpProxy {
  readonly faults: TcpFaults;
  readonly stats: TcpProxyStats = {
    connections: 0,
    bytesToServer: 0,
    bytesToClient: 0,
    writes: 0,
    resets: { afterBytes: 0, perChunk: 0, all: 0 },
    targetFailures: 0,
  };
  readonly #target: HostPort;
  readonly #listen: HostPort;
  readonly #links = new Set<Link>();
  readonly #random: () => number;
  #server: net.Server | undefined;
  #blackout: Blackout = 'none';
  #stallEnded: { promise: Promise<void>; resolve: () => void } | undefined;

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    await proxy.#startListening();
    return proxy;
  }

  private constructor(options: TcpProxyOptions) {
    this.#target = parseHostPort(options.target);
    this.#listen = parseHostPort(options.listen ?? '127.0.0.1:0');
    this.faults = {
      latencyMs: options.latencyMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      sliceBytes: options.sliceBytes ?? 0,
      sliceGapMs: options.sliceGapMs ?? 0,
      resetAfterBytes: options.resetAfterBytes ?? 0,
      resetPerChunk: options.resetPerChunk ?? 0,
    };
    this.#random = mulberry32(options.seed ?? randomSeed());
  }

  /** Where clients connect (the same while refusing). */
  get address(): string {
    return formatHostPort(this.#listen);
  }

  get blackout(): Blackout {
    return this.#blackout;
  }

  /** Connections open through the proxy now. */
  get liveConnections(): number {
    return this.#links.size;
  }

  async setBlackout(mode: Blackout): Promise<void> {
    const previous = this.#blackout;
    if (mode === previous) return;
    this.#blackout = mode;
    if (previous === 'refuse') await this.#startListening();
    if (mode === 'refuse') this.#stopListening();
    if (mode === 'stall') {
      let resolve = (): void => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.#stallEnded = { promise, resolve };
    }
    if (previous === 'stall') {
      for (const link of this.#links) if (link.upstream === undefined) this.#connectUpstream(link);
      this.#stallEnded?.resolve();
      this.#stallEnded = undefined;
    }
  }

  /** Cut every live connection now, with an RST to both sides. */
  resetAll(): void {
    for (const link of this.#links) this.#cut(link, 'all');
  }

  async close(): Promise<void> {
    this.#stopListening();
    for (const link of this.#links) this.#cut(link);
    this.#stallEnded?.resolve();
  }

  async #startListening(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#listen.port, this.#listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#listen.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Stops accepting at once (close()'s callback would wait for every connection to end). */
  #stopListening(): void {
    this.#server?.close();
    this.#server = undefined;
  }

  #accept(client: net.Socket): void {
    this.stats.connections++;
    const link = new Link(client);
    this.#links.add(link);
    this.#relayFrom(link, 'toServer', client);
    if (this.#blackout !== 'stall') this.#connectUpstream(link);
  }

  #connectUpstream(link: Link): void {
    if (link.cut) return;
    const upstream = net.connect({ ...this.#target, allowHalfOpen: true, noDelay: true });
    link.upstream = upstream;
    let connected = false;
    upstream.once('connect', () => (connected = true));
    upstream.once('close', () => {
      if (!connected && !link.cut) this.stats.targetFailures++;
    });
    this.#relayFrom(link, 'toClient', upstream);
  }

  #relayFrom(link: Link, direction: Direction, source: net.Socket): void {
    source.on('data', (chunk: Buffer) => this.#onChunk(link, direction, source, chunk));
    source.on('end', () => {
      link.flows[direction].ended = true;
      void this.#pump(link, direction);
    });
    source.on('error', () => {}); // 'close' follows
    source.on('close', (hadError) => {
      if (hadError) this.#cut(link); // pass a reset on, as the network would
      if (link.client.destroyed && (link.upstream?.destroyed ?? true)) this.#links.delete(link);
    });
  }

  #onChunk(link: Link, direction: Direction, source: net.Socket, data: Buffer): void {
    if (link.cut || link.doomed) return;
    if (this.#random() < this.faults.resetPerChunk) {
      this.#cut(link, 'perChunk');
      return;
    }
    let chunk = data;
    if (this.faults.resetAfterBytes > 0) {
      link.bytesLeft ??= 1 + Math.floor(this.#random() * this.faults.resetAfterBytes);
      if (chunk.length >= link.bytesLeft) {
        chunk = chunk.subarray(0, link.bytesLeft);
        link.doomed = true;
      }
      link.bytesLeft -= chunk.length;
    }
    const flow = link.flows[direction];
    const delayMs = this.faults.latencyMs + this.#random() * this.faults.jitterMs;
    flow.queue.push({ chunk, dueAt: Date.now() + delayMs, thenReset: link.doomed });
    flow.queuedBytes += chunk.length;
    if (flow.queuedBytes > QUEUE_LIMIT_BYTES) source.pause();
    void this.#pump(link, direction);
  }

  /** Deliver a direction's queue in order, each chunk when due, while the link lives. */
  async #pump(link: Link, direction: Direction): Promise<void> {
    const flow = link.flows[direction];
    if (flow.pumping) return;
    flow.pumping = true;
    try {
      for (;;) {
        await this.#stallEnded?.promise;
        const next = flow.queue[0];
        if (link.cut || next === undefined) break;
        const waitMs = next.dueAt - Date.now();
        if (waitMs > 0) await sleep(waitMs);
        const destination = direction === 'toServer' ? link.upstream : link.client;
        if (link.cut || destination === undefined) break;
        await this.#write(destination, direction, next.chunk);
        flow.queue.shift();
        flow.queuedBytes -= next.chunk.length;
        const source = direction === 'toServer' ? link.client : link.upstream;
        if (flow.queuedBytes <= QUEUE_LIMIT_BYTES / 2 && source?.isPaused()) source.resume();
        if (next.thenReset) this.#cut(link, 'afterBytes');
      }
      const destination = direction === 'toServer' ? link.upstream : link.client;
      if (!link.cut && flow.ended && flow.queue.length === 0) destination?.end();
    } finally {
      flow.pumping = false;
    }
  }

  async #write(destination: net.Socket, direction: Direction, chunk: Buffer): Promise<void> {
    const { sliceBytes, sliceGapMs } = this.faults;
    if (sliceBytes <= 0) return this.#send(destination, direction, chunk);
    for (let at = 0; at < chunk.length;) {
      const size = 1 + Math.floor(this.#random() * sliceBytes);
      await this.#send(destination, direction, chunk.subarray(at, at + size));
      at += size;
      if (at >= chunk.length) break;
      const gapMs = this.#random() * sliceGapMs;
      await (gapMs >= 1 ? sleep(gapMs) : nextTurn());
    }
  }

  /** Write and wait until the kernel has it, so a reset that follows cannot overtake it. */
  #send(destination: net.Socket, direction: Direction, piece: Buffer): Promise<void> {
    if (destination.destroyed) return Promise.resolve();
    this.stats.writes++;
    this.stats[direction === 'toServer' ? 'bytesToServer' : 'bytesToClient'] += piece.length;
    return new Promise((resolve) => destination.write(piece, () => resolve()));
  }

  #cut(link: Link, cause?: ResetCause): void {
    if (link.cut) return;
    link.cut = true;
    if (cause !== undefined) this.stats.resets[cause]++;
    this.#links.delete(link);
    for (const flow of Object.values(link.flows)) flow.queue.length = 0;
    for (const socket of [link.client, link.upstream]) {
      if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy();
    }
  }
}

interface Delivery {
  chunk: Buffer;
  dueAt: number;
  /** The last bytes this link relays before its reset. */
  thenReset: boolean;
}

interface Flow {
  queue: Delivery[];
  queuedBytes: number;
  pumping: boolean;
  /** The sender half-closed: pass it on once the queue is empty. */
  ended: boolean;
}

/** One client connection and the upstream connection relaying it. */
class Link {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  readonly flows: Record<Direction, Flow> = { toServer: newFlow(), toClient: newFlow() };
  /** Bytes left before a resetAfterBytes reset, drawn at the first chunk. */
  bytesLeft: number | undefined;
  /** Its last bytes are queued: a reset follows them. */
  doomed = false;
  cut = false;

  constructor(client: net.Socket) {
    this.client = client;
  }
}

function newFlow(): Flow {
  return { queue: [], queuedBytes: 0, pumping: false, ended: false };
}
