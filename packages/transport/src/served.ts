/**
 * What the point-to-point transports that carry events themselves (TCP, UDP) keep of the
 * servers they run in this process, written once: each service's server, which also sends
 * its events (their subscribers register with it), and the publish of one event through it,
 * in a PRODUCER span.
 */
import { TransportError } from './errors.js';
import type { PublishOptions, TransportKind } from './transport.js';
import { PublishCall, type TraceCarrier } from './tracing.js';

/** A server that can send `service`'s events to the subscribers registered with it. */
export interface EventServer {
  close(): Promise<void>;
  /** Send `event` to every subscriber of `topic`: how many copies went out, and their bytes. */
  publish(topic: string, event: unknown, carrier: TraceCarrier): Sent | Promise<Sent>;
}

export interface Sent {
  copies: number;
  bytes: number;
}

export class ServedServers<S extends EventServer> {
  readonly #kind: TransportKind;
  readonly #byService = new Map<string, S>();
  readonly #all = new Set<S>();

  constructor(kind: TransportKind) {
    this.#kind = kind;
  }

  /** Keep `server` as `service`'s (the latest one serving it sends its events). */
  add(service: string, server: S): S {
    this.#byService.set(service, server);
    this.#all.add(server);
    return server;
  }

  /** What a server calls once it has closed. */
  forget(service: string): (server: S) => void {
    return (server) => {
      this.#all.delete(server);
      if (this.#byService.get(service) === server) this.#byService.delete(service);
    };
  }

  get(service: string): S | undefined {
    return this.#byService.get(service);
  }

  values(): IterableIterator<S> {
    return this.#byService.values();
  }

  /** Close every server: each stops taking work and waits for its in-flight handlers. */
  closeAll(): Promise<unknown> {
    return Promise.all([...this.#all].map((server) => server.close()));
  }

  /** Publish `event` through `service`'s server; INTERNAL when this process does not serve it. */
  async publish(service: string, topic: string, event: unknown, options: PublishOptions | undefined): Promise<void> {
    const server = this.#byService.get(service);
    if (server === undefined) {
      throw new TransportError(
        'INTERNAL',
        `${this.#kind}: publish on ${service} needs serve(${service}) first: subscribers register with its listener`,
      );
    }
    const publishing = new PublishCall(this.#kind, service, topic, options?.parent);
    const sending = (async () => {
      const { copies, bytes } = await server.publish(topic, event, publishing.carrier);
      publishing.sent(copies, bytes);
    })();
    await publishing.track(sending);
  }
}
