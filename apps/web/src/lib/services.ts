/**
 * The web app's one way to the services: a single RoutedTransport per process (so every call
 * follows TRANSPORT / <SERVICE>_TRANSPORT, and connections are pooled across requests), and
 * typed clients per user action. Each action gets its own trace id, carried by every call it
 * makes, and each call is timed into the action's trace for the Transports page. A failed call
 * rejects with a ServiceError whose message is fit to show a person.
 */
import 'server-only';
import { DEFAULT_PORTS, auth, client, follows, posts, type Client } from '@chirp/contracts';
import {
  createTransport,
  expandReplicas,
  transportConfigFromEnv,
  newTraceId,
  type Logger,
  type RequestOptions,
  type RoutedTransport,
  type Transport,
} from '@chirp/transport';
import { transportEnv } from './config';
import { ServiceError, serviceError } from './errors';
import type { ActionTrace } from './traces';

/** The services web calls, and the one it only links browsers to. */
export const SERVICES = ['auth', 'posts', 'follows'] as const;

// Transport problems (a peer gone, a reconnect) as one JSON line each on stderr, like the services' pino logs.
const logger: Logger = {
  error: (obj, msg) => console.error(JSON.stringify({ level: 'error', name: 'web', msg, ...obj })),
  warn: (obj, msg) => console.error(JSON.stringify({ level: 'warn', name: 'web', msg, ...obj })),
  info: () => {},
  debug: () => {},
};

// On globalThis: one transport per process, whichever route bundle (or hot reload) asks first.
const holder = globalThis as typeof globalThis & {
  __chirpTransport?: RoutedTransport;
  __chirpReplicas?: Promise<void>;
};

export function transport(): RoutedTransport {
  if (holder.__chirpTransport === undefined) {
    holder.__chirpTransport = createTransport(transportConfigFromEnv(transportEnv(), DEFAULT_PORTS), logger);
    // Service names become every replica's address (compose --scale) before the first call goes out.
    holder.__chirpReplicas = expandReplicas(holder.__chirpTransport.config.services);
  }
  return holder.__chirpTransport;
}

export interface Services {
  auth: Client<typeof auth>;
  posts: Client<typeof posts>;
  follows: Client<typeof follows>;
  trace: ActionTrace;
}

/** Clients for one user action: every call carries the action's trace id and is timed into it. */
export function servicesFor(action: string): Services {
  const trace: ActionTrace = { traceId: newTraceId(), action, startedAt: Date.now(), hops: [] };
  const origin = performance.now();
  const routed = transport();
  const traced: Pick<Transport, 'request'> = {
    async request(service: string, method: string, payload: unknown, options?: RequestOptions) {
      const started = performance.now();
      const hop = {
        service,
        method,
        transport: routed.kindOf(service),
        startMs: started - origin,
      };
      try {
        await holder.__chirpReplicas;
        const reply = await routed.request(service, method, payload, { ...options, traceId: trace.traceId });
        trace.hops.push({ ...hop, ms: performance.now() - started, outcome: 'OK' });
        return reply;
      } catch (err) {
        const failure = serviceError(err, service, method);
        trace.hops.push({ ...hop, ms: performance.now() - started, outcome: failure.code });
        if (failure.code === 'INTERNAL' || failure.code === 'UNAVAILABLE' || failure.code === 'DEADLINE_EXCEEDED') {
          logger.warn(
            { traceId: trace.traceId, service, method, code: failure.code, err: failure.detail },
            'call failed',
          );
        }
        throw failure;
      }
    },
  };
  return { auth: client(traced, auth), posts: client(traced, posts), follows: client(traced, follows), trace };
}

export { ServiceError };
