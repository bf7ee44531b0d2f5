/**
 * A bad network between a UDP client and server, for tests: datagrams to the proxy's
 * address are relayed to `target` and the replies back, except that a share of them is
 * dropped (separately per direction), sent twice, or held back so later ones overtake.
 *
 *   client ──▶ proxy.address ──(one upstream socket per client)──▶ target
 *   client ◀── proxy.address ◀──────────────────────────────────── target
 *
 * Each client gets its own upstream socket, as behind a NAT, so the server still sees one
 * stable address per client (its de-duplication key). With a `seed`, which datagrams are
 * dropped, duplicated and delayed is the same on every run for the same sequence of
 * datagrams (the delays' wall-clock effect still depends on timing). ICMP errors from a
 * target that is down are swallowed, as a firewall that drops ICMP would.
 * Faults can be changed while it runs (`proxy.faults.lossToServer = 1` is a blackout).
 */
import dgram from 'node:dgram';
import { formatHostPort, parseHostPort, type HostPort } from '../endpoints.js';
import { mulberry32, randomSeed } from './random.js';

export interface UdpFaults {
  /** Share of client → server datagrams dropped, 0 to 1. */
  lossToServer: number;
  /** Share of server → client datagrams dropped, 0 to 1. */
  lossToClient: number;
  /** Share of datagrams (that are not dropped) sent twice. */
  duplicate: number;
  /** Share of datagrams held back for 1 to `maxDelayMs` ms, letting later ones overtake. */
  reorder: number;
  maxDelayMs: number;
}

export interface UdpProxyOptions extends Partial<UdpFaults> {
  /** `host:port` of the real server. */
  target: string;
  /** Where the proxy listens; default a free loopback port. */
  listen?: string;
  /** Sets lossToServer and lossToClient at once. */
  loss?: number;
  /** Makes the fault decisions repeatable. */
  seed?: number;
}

export interface DirectionStats {
  received: number;
  dropped: number;
  duplicated: number;
  delayed: number;
}

type Direction = 'toServer' | 'toClient';

export class UdpProxy {
  readonly faults: UdpFaults;
  readonly stats: Record<Direction, DirectionStats> = { toServer: newStats(), toClient: newStats() };
  readonly #target: HostPort;
  readonly #front: dgram.Socket;
  readonly #upstreams = new Map<string, dgram.Socket>();
  readonly #random: Record<Direction, () => number>;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  static async start(options: UdpProxyOptions): Promise<UdpProxy> {
    const listen = parseHostPort(options.listen ?? '127.0.0.1:0');
    const front = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(listen.port, listen.host, () => {
        front.off('error', reject);
        resolve();
      });
    });
    return new UdpProxy(options, front);
  }

  private constructor(options: UdpProxyOptions, front: dgram.Socket) {
    this.#target = parseHostPort(options.target);
    this.#front = front;
    this.faults = {
      lossToServer: options.lossToServer ?? options.loss ?? 0,
      lossToClient: options.lossToClient ?? options.loss ?? 0,
      duplicate: options.duplicate ?? 0,
      reorder: options.reorder ?? 0,
      maxDelayMs: options.maxDelayMs ?? 20,
    };
    // One generator per direction, so the replies' fate does not shift the requests'.
    const seed = options.seed ?? randomSeed();
    this.#random = { toServer: mulberry32(seed), toClient: mulberry32(seed ^ 0x9e3779b9) };
    front.on('message', (datagram, from) => this.#fromClient(datagram, { host: from.address, port: from.port }));
    front.on('error', () => {});
  }

  get address(): string {
    const { address, port } = this.#front.address();
    return formatHostPort({ host: address, port });
  }

  #fromClient(datagram: Buffer, client: HostPort): void {
    const key = formatHostPort(client);
    let upstream = this.#upstreams.get(key);
    if (upstream === undefined) {
      upstream = dgram.createSocket('udp4');
      upstream.on('message', (reply, from) => {
        if (from.port !== this.#target.port) return;
        this.#forward('toClient', reply, (d) => this.#front.send(d, client.port, client.host));
      });
      upstream.on('error', () => {}); // the target is down: the datagram is simply lost
      this.#upstreams.set(key, upstream);
    }
    const socket = upstream;
    this.#forward('toServer', datagram, (d) => socket.send(d, this.#target.port, this.#target.host));
  }

  #forward(direction: Direction, datagram: Buffer, send: (datagram: Buffer) => void): void {
    const stats = this.stats[direction];
    const random = this.#random[direction];
    const loss = direction === 'toServer' ? this.faults.lossToServer : this.faults.lossToClient;
    stats.received++;
    if (random() < loss) {
      stats.dropped++;
      return;
    }
    const copies = random() < this.faults.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (random() < this.faults.reorder) {
        stats.delayed++;
        const timer = setTimeout(
          () => {
            this.#timers.delete(timer);
            this.#safely(() => send(datagram));
          },
          1 + Math.floor(random() * this.faults.maxDelayMs),
        );
        this.#timers.add(timer);
      } else {
        this.#safely(() => send(datagram));
      }
    }
  }

  #safely(send: () => void): void {
    if (this.#closed) return;
    try {
      send();
    } catch {
      // A socket closed under us: as good as lost.
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    const sockets = [this.#front, ...this.#upstreams.values()];
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function newStats(): DirectionStats {
  return { received: 0, dropped: 0, duplicated: 0, delayed: 0 };
}
