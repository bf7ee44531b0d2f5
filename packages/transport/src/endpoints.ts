/**
 * Client-side load balancing for the socket transports (HTTP, TCP, UDP): a service's
 * addresses come from config (`POSTS_ADDR=10.0.0.5:4102,10.0.0.6:4102`), calls go round
 * robin over them, and an endpoint that refused a connection sits out for a backoff that
 * grows while it keeps failing.
 */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(address: string): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(address.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || match[1] === '' || !(port >= 0 && port <= 65535)) {
    throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host: match[1]!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether `host` is this machine's loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Where a service binds when <SERVICE>_LISTEN is not set, at the port of its first address:
 * loopback when every address its callers are given is a loopback one (the default
 * 127.0.0.1:<port>: a local run serves nothing beyond this machine), else every interface
 * (compose's `posts:4102`, replicas on other hosts).
 */
export function defaultListen(addresses: readonly string[]): string | undefined {
  const first = addresses[0];
  if (first === undefined) return undefined;
  const { port } = parseHostPort(first);
  const local = addresses.every((address) => isLoopbackHost(parseHostPort(address).host));
  const host = !local ? '0.0.0.0' : parseHostPort(first).host === '::1' ? '[::1]' : '127.0.0.1';
  return `${host}:${port}`;
}

export interface EndpointState {
  address: string;
  /** Epoch ms before which this endpoint is not tried again. */
  downUntil: number;
  failures: number;
}

export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 5_000;

/** Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms … 5 s. */
export function backoffMs(failures: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class EndpointSet {
  readonly endpoints: EndpointState[];
  #next = 0;

  constructor(addresses: readonly string[]) {
    this.endpoints = addresses.map((address) => ({ address, downUntil: 0, failures: 0 }));
  }

  /** The next endpoint in rotation that is not sitting out, or undefined if all are. */
  pick(now = Date.now()): EndpointState | undefined {
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const endpoint = this.endpoints[(this.#next + i) % n]!;
      if (endpoint.downUntil <= now) {
        this.#next = (this.#next + i + 1) % n;
        return endpoint;
      }
    }
    return undefined;
  }

  /** Calls sent at once and refused together are one outage: while it sits out, no more failures count. */
  markDown(endpoint: EndpointState, now = Date.now()): void {
    if (endpoint.downUntil > now) return;
    endpoint.failures++;
    endpoint.downUntil = now + backoffMs(endpoint.failures);
  }

  markUp(endpoint: EndpointState): void {
    endpoint.failures = 0;
    endpoint.downUntil = 0;
  }
}
