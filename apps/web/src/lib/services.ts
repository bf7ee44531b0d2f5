/**
 * The web app's one way to the services: a single RoutedTransport per process (so every call
 * follows TRANSPORT / <SERVICE>_TRANSPORT, and connections are pooled across requests), and
 * typed clients per user action. Each action is one trace (W3C Trace Context, see
 * @chirp/transport's tracing.ts): the Transports page shows its spans, from every process it
 * crossed. A failed call rejects with a ServiceError whose message is fit to show a person.
 */
import { auth, chirpTransportConfig, client, follows, posts, type Client } from '@chirp/contracts';
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  TraceFlags,
  context,
  trace as tracing,
  type Context,
} from '@opentelemetry/api';
import {
  createTransport,
  expandReplicas,
  newSpanId,
  newTraceId,
  type Logger,
  type RequestOptions,
  type RoutedTransport,
  type Transport,
} from '@chirp/transport';
import { processEnv } from './config.js';
import { ServiceError, serviceError } from './errors.js';
import type { ActionTrace } from './traces.js';

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
    holder.__chirpTransport = createTransport(chirpTransportConfig(processEnv()), logger);
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

/**
 * Clients for one user action. Every call is a child of the action's span: the web request's own
 * (Next.js makes one per request when tracing is on), so one trace runs from the browser's request
 * through every service hop. Without tracing, a made-up trace id still ties the calls together.
 * `parent` replaces the request's span (the transport comparison's own roots, compare.ts).
 */
export function servicesFor(action: string, parent: Context = actionContext()): Services {
  const trace: ActionTrace = { traceId: tracing.getSpanContext(parent)!.traceId, action, startedAt: Date.now() };
  const routed = transport();
  // Errors become ServiceErrors here, after the transport's retries of idempotent calls.
  const traced: Pick<Transport, 'request'> = {
    async request(service: string, method: string, payload: unknown, options?: RequestOptions) {
      try {
        await holder.__chirpReplicas;
        return await routed.request(service, method, payload, { ...options, parent: options?.parent ?? parent });
      } catch (err) {
        const failure = serviceError(err, service, method);
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
  return {
    auth: client(traced, auth),
    posts: client(traced, posts),
    follows: client(traced, follows),
    trace,
  };
}

/** The active context if it holds a span (the request's), else a fresh unsampled trace to carry an id. */
function actionContext(): Context {
  const active = context.active();
  if (tracing.isSpanContextValid(tracing.getSpanContext(active) ?? INVALID_SPAN_CONTEXT)) return active;
  return untraced(active);
}

/** `parent` with a new trace that is not recorded: its id ties the calls together, and that is all. */
export function untraced(parent: Context = ROOT_CONTEXT): Context {
  return tracing.setSpanContext(parent, { traceId: newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.NONE });
}

export { ServiceError };
