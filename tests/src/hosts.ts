/**
 * Hosts of their own on this one machine, for tests that need a real network between services:
 * each host is a Linux network namespace with one address, its cable a veth pair plugged into a
 * bridge in the root namespace (the switch). The root namespace has an address on the bridge
 * too: it is the data host, where PostgreSQL, RabbitMQ and NATS listen on 127.0.0.1 only, which
 * no namespace can reach, so `forward()` relays a port of the root's bridge address to one of
 * them. Traffic stays on these namespaces' own addresses and the root's loopback.
 *
 *                    root namespace 10.213.N.1: the data host, the test's client
 *                                  │
 *                         bridge chirp-mh-<id>
 *            ┌─────────────────────┼─────────────────────┐
 *     cable chirp-mh-<id>-a   chirp-mh-<id>-b       chirp-mh-<id>-c        (veth pairs)
 *            │                     │                     │
 *     ns chirp-mh-<id>-a      chirp-mh-<id>-b       chirp-mh-<id>-c
 *       eth0 10.213.N.11        eth0 10.213.N.12      eth0 10.213.N.13
 *
 * `cut(host)` sets the switch end of a host's cable down: packets to and from it vanish, as when
 * a cable is pulled (nothing is refused: connections stall; new ones fail only once ARP gives
 * up, ~3 s). `restore(host)` plugs it back. Needs root (CAP_NET_ADMIN) and iproute2.
 *
 * A run killed before its teardown leaves its namespaces and links behind; the next run removes
 * them: each bridge's alias names the process that made it, and what belongs to a bridge whose
 * process is gone (or to no bridge) is stale, processes still running in its namespaces included.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TcpProxy } from '@chirp/transport/testing';

export interface Host {
  /** The letter that ends its names: a, b, c… */
  name: string;
  namespace: string;
  address: string;
  /** The switch end of its cable, in the root namespace. */
  cable: string;
}

const PREFIX = 'chirp-mh-';
const OWNER = 'chirp multi-host test, pid ';

export class HostNetwork {
  /** The root namespace's address on the bridge: the data host's. */
  readonly address: string;
  readonly #bridge: string;
  /** The first three bytes of the /24 the hosts are on. */
  readonly #subnet: string;
  readonly #hosts = new Map<string, Host>();
  readonly #relays: TcpProxy[] = [];

  private constructor(bridge: string, subnet: string) {
    this.#bridge = bridge;
    this.#subnet = subnet;
    this.address = `${subnet}.1`;
  }

  /** A bridge and one host per name (a, b, c…), each at its own address; stale ones of earlier runs go first. */
  static create(names: string[]): HostNetwork {
    removeStale();
    const id = randomBytes(2).toString('hex');
    const network = new HostNetwork(`${PREFIX}${id}`, freeSubnet());
    try {
      network.#build(id, names);
    } catch (err) {
      network.#teardown();
      throw err;
    }
    return network;
  }

  host(name: string): Host {
    const host = this.#hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** `argv` run on `host` (for ServiceProcess). */
  command(host: Host, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', host.namespace, ...argv];
  }

  /** A port on the data host's bridge address relaying to `target` (host:port on its loopback); resolves that address. */
  async forward(target: string): Promise<string> {
    const relay = await TcpProxy.start({ target, listen: `${this.address}:0` });
    this.#relays.push(relay);
    return relay.address;
  }

  /** Relay 127.0.0.1:`port` to `host`'s `port`, where ServiceProcess looks for a service's /readyz. */
  async expose(host: Host, port: number): Promise<void> {
    this.#relays.push(await TcpProxy.start({ target: `${host.address}:${port}`, listen: `127.0.0.1:${port}` }));
  }

  /** Pull `host`'s cable: everything to and from it vanishes until restore(). */
  cut(host: Host): void {
    ip('link', 'set', host.cable, 'down');
  }

  restore(host: Host): void {
    ip('link', 'set', host.cable, 'up');
  }

  /** Stop the relays, end what still runs on the hosts, remove namespaces, cables and bridge. */
  async destroy(): Promise<void> {
    await Promise.all(this.#relays.map((relay) => relay.close()));
    this.#teardown();
  }

  #build(id: string, names: string[]): void {
    try {
      ip('link', 'add', this.#bridge, 'type', 'bridge');
    } catch (err) {
      throw new Error(
        `a multi-host test makes network namespaces, veth pairs and a bridge, which needs root (CAP_NET_ADMIN) and iproute2: ${(err as Error).message}`,
      );
    }
    ip('link', 'set', this.#bridge, 'alias', `${OWNER}${process.pid}`);
    ip('addr', 'add', `${this.address}/24`, 'dev', this.#bridge);
    ip('link', 'set', this.#bridge, 'up');
    names.forEach((name, i) => {
      const host: Host = {
        name,
        namespace: `${PREFIX}${id}-${name}`,
        address: `${this.#subnet}.${11 + i}`,
        cable: `${PREFIX}${id}-${name}`, // 15 characters at most: Linux's limit on interface names
      };
      this.#hosts.set(name, host);
      ip('netns', 'add', host.namespace);
      ip('link', 'add', host.cable, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      ip('link', 'set', host.cable, 'master', this.#bridge, 'up');
      ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
    });
  }

  #teardown(): void {
    for (const host of this.#hosts.values()) removeNamespace(host.namespace);
    for (const host of this.#hosts.values()) removeLink(host.cable);
    removeLink(this.#bridge);
  }
}

/** A /24 of 10.213.0.0/16 that no interface of this machine is on. */
function freeSubnet(): string {
  const taken = ip('-4', '-o', 'addr', 'show');
  for (;;) {
    const subnet = `10.213.${Math.floor(Math.random() * 256)}`;
    if (!taken.includes(` ${subnet}.`)) return subnet;
  }
}

/** Remove the namespaces and links of runs whose process is gone (see the top of this file). */
function removeStale(): void {
  const links = JSON.parse(ip('-j', 'link', 'show')) as { ifname: string; ifalias?: string }[];
  const live = new Set<string>();
  for (const link of links) {
    const owner = link.ifalias?.startsWith(OWNER) ? Number(link.ifalias.slice(OWNER.length)) : undefined;
    if (link.ifname.startsWith(PREFIX) && owner !== undefined && isRunning(owner)) live.add(link.ifname);
  }
  const stale = (name: string) => name.startsWith(PREFIX) && !live.has(name.split('-', 3).join('-'));
  const namespaces = JSON.parse(ip('-j', 'netns', 'list') || '[]') as { name: string }[];
  for (const { name } of namespaces) if (stale(name)) removeNamespace(name);
  for (const { ifname } of links) if (stale(ifname)) removeLink(ifname);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A namespace lives on while a process runs in it: those left are killed first (by pid) so it really goes. */
function removeNamespace(namespace: string): void {
  let pids: string[];
  try {
    pids = ip('netns', 'pids', namespace).split('\n').filter(Boolean);
  } catch {
    return; // already gone
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  ip('netns', 'del', namespace);
}

function removeLink(name: string): void {
  try {
    ip('link', 'del', name);
  } catch {
    // already gone: deleting one end of a veth pair deletes both
  }
}

/** Run `ip`; its output, or an error carrying what it printed on stderr. */
function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('a multi-host test needs iproute2 (the `ip` command), which is not installed');
    }
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
}
