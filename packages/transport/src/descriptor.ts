/**
 * What the rest of Chirp knows about a transport, in one object per transport folder
 * (`<kind>/descriptor.ts`), gathered in transports.ts. The factory, config parsing, the
 * web's Transports page, the bench's targets and the start script read these rather than
 * naming transports, so adding one is a folder and a line in transports.ts; the places that
 * must still know each kind by name are keyed by TransportKind and fail to compile without it.
 */
import type { TransportConfig } from './config.js';
import type { TransportOptions } from './options.js';
import type { Transport } from './transport.js';

export interface TransportDescriptor {
  readonly kind: string;
  /** One line: how it carries a call, and what it promises. */
  readonly description: string;
  /**
   * Through a broker that names its queues or subjects after the services (AMQP, NATS): no
   * addresses, replicas compete for one queue, and the broker's own credentials guard it. Else
   * point to point: addresses, client-side balancing, and TRANSPORT_SECRET signs the traffic.
   */
  readonly brokered: boolean;
  /** Its default message limit in bytes (MAX_MESSAGE_BYTES overrides it, never past `ceilingBytes`). */
  readonly maxMessageBytes: number;
  /** A limit no setting can lift (UDP: one IPv4 datagram). */
  readonly ceilingBytes?: number;
  /** Point to point: COMPARE_TRANSPORTS serves it at each service's port plus this. */
  readonly comparePortOffset?: number;
  /** Its own environment variables, each with its default and meaning, for the docs and `npm start`. */
  readonly settings: Readonly<Record<string, string>>;
  /**
   * Brokered: whether its broker answers within `timeoutMs` — undefined if so, else what to do
   * about it, in a sentence (`npm start` says it, and leaves the transport out of its comparison).
   */
  probe?(config: TransportConfig, timeoutMs: number): Promise<string | undefined>;
  /** Where `service` is reached on it, for people (the Transports page, `npm start`): no passwords. */
  where(config: TransportConfig, service: string): string;
  create(options: TransportOptions): Transport;
}

/** Point to point: the service's addresses. */
export function addressesOf(config: TransportConfig, service: string): string {
  return (config.services[service]?.addresses ?? []).join(', ');
}

/** `amqp://guest:secret@host:5672/vhost` → `host:5672`: where a broker is, without its credentials. */
export function brokerHost(url: string): string {
  try {
    return new URL(url.split(',')[0]!.trim()).host;
  } catch {
    return 'broker';
  }
}
