/**
 * The sending half of the HTTP transport: one keep-alive undici Pool per origin (service
 * replicas, publishers, subscribers' callback servers alike), a deadline per call, and
 * the mapping from what came back (a status and a body, or a socket error) to a result or
 * a TransportError. Node's global fetch would do the same about ten times slower.
 *
 * Requests go through undici's dispatch() with handlers of our own (call.ts for service calls,
 * ResponseReader here for the rest) rather than its request(): that one wraps each response in
 * a stream and each request in an AsyncResource, which for a small call cost more than the
 * transport's own work (the load generator, which runs this client, was the bottleneck of the
 * HTTP benchmark).
 */
import { Pool, type Dispatcher } from 'undici';
import { formatHostPort, parseHostPort } from '../endpoints.js';
import {
  TransportError,
  codeOfHttpStatus,
  fromWireError,
  unavailable,
  wireErrorOf,
  type WireError,
} from '../errors.js';
import { newRequestId } from '../ids.js';
import { PendingRequests } from '../pending.js';
import type { ClientCall } from '../tracing.js';
import { JSON_TYPE } from './app.js';
import type { ServiceCall } from './call.js';
import type { HttpTls } from './tls.js';

/**
 * Connections per origin. A request holds its connection until answered (pipelining 1:
 * one slow handler must not stall the replies queued behind it), so this is how many
 * calls to one replica run at once; more wait in the pool's queue, inside their deadline.
 */
export const CONNECTIONS_PER_ORIGIN = 32;

/** Room over the message limit for an error reply's own text. */
const RESPONSE_SLACK_BYTES = 16 * 1024;

export interface Exchange {
  method: 'POST' | 'DELETE';
  path: string;
  /** Header names and values, one after the other (undici's flat form, the cheapest it takes). */
  headers: string[];
  body?: string | undefined;
}

export interface RawResponse {
  status: number;
  text: string;
}

/** Something running under a deadline that can be called off. */
interface Cancelable {
  cancel(): void;
}

/** Cancels the exchange it is handed to (a deadline passed, or the transport closed). */
export class Cancel implements Cancelable {
  aborted = false;
  /** The attempt settled: nothing left to cancel. */
  done = false;
  #abort: ((reason: Error) => void) | undefined;

  cancel(): void {
    if (this.aborted || this.done) return;
    this.aborted = true;
    this.#abort?.(new TransportError('DEADLINE_EXCEEDED', 'http: request cancelled'));
  }

  /** Called by the request once it can be aborted; at once if it was cancelled meanwhile. */
  onAbortable(abort: (reason: Error) => void): void {
    this.#abort = abort;
    if (this.aborted) abort(new TransportError('DEADLINE_EXCEEDED', 'http: request cancelled'));
  }
}

export class HttpClient {
  readonly #pools = new Map<string, Pool>();
  /** Pools of replicas that left, closing once their requests are done (retire). */
  readonly #retiring = new Set<Pool>();
  /** Whatever settles an entry (reply, error, deadline, close) calls off its request if still running. */
  readonly #pending = new PendingRequests<Cancelable>((running) => running.cancel());
  readonly #maxResponseBytes: number;
  /** HTTPS to services (and to https:// callbacks): the CA to trust, the certificate to present. */
  readonly #tls: HttpTls['client'];
  readonly #origins = new Map<string, string>();

  constructor(maxMessageBytes: number, tls?: HttpTls['client']) {
    this.#maxResponseBytes = maxMessageBytes + RESPONSE_SLACK_BYTES;
    this.#tls = tls;
  }

  /** `host:port` from config to the origin its pool is keyed by: https:// when TLS is on. */
  originOf(address: string): string {
    let origin = this.#origins.get(address);
    if (origin === undefined) {
      origin = `${this.#tls === undefined ? 'http' : 'https'}://${formatHostPort(parseHostPort(address))}`;
      this.#origins.set(address, origin);
    }
    return origin;
  }

  /**
   * Start a service call under its deadline: past it the caller gets DEADLINE_EXCEEDED at once
   * and the request is aborted. close() rejects every call still running with UNAVAILABLE.
   * `span` is ended with the call's code when it settles.
   */
  start(call: ServiceCall, describe: string, timeoutMs: number, span: ClientCall): Promise<unknown> {
    const reply = this.#pending.wait(call.id, timeoutMs, describe, call, span);
    call.start();
    return reply;
  }

  /** How a call started here ended: `err`, or `value`. */
  settle(id: string, err: Error | undefined, value?: unknown): void {
    if (err === undefined) this.#pending.resolve(id, value);
    else this.#pending.reject(id, err);
  }

  /** As start(), for exchanges made by `attempt` (event registrations): the same deadline, the same cancelling. */
  call(describe: string, timeoutMs: number, attempt: (cancel: Cancel) => Promise<unknown>): Promise<unknown> {
    const id = newRequestId();
    const cancel = new Cancel();
    const reply = this.#pending.wait(id, timeoutMs, describe, cancel);
    attempt(cancel).then(
      (value) => {
        cancel.done = true;
        this.#pending.resolve(id, value);
      },
      (err: unknown) => {
        cancel.done = true;
        this.#pending.reject(id, err instanceof Error ? err : new Error(String(err)));
      },
    );
    return reply;
  }

  /** Send one request and read its whole body; socket failures become UNAVAILABLE (cause kept). */
  exchange(
    origin: string,
    exchange: Exchange,
    options: { cancel?: Cancel; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    const headers = exchange.body === undefined ? exchange.headers : ['content-type', JSON_TYPE, ...exchange.headers];
    return new Promise((resolve, reject) => {
      const handler = new ResponseReader(resolve, (err) => reject(clientError(err, origin)), options.cancel);
      this.pool(origin).dispatch(
        {
          origin,
          method: exchange.method,
          path: exchange.path,
          headers,
          body: exchange.body,
          ...(options.timeoutMs === undefined
            ? {}
            : { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs }),
        },
        handler,
      );
    });
  }

  pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: CONNECTIONS_PER_ORIGIN,
        pipelining: 1,
        maxResponseSize: this.#maxResponseBytes,
        ...(this.#tls !== undefined && origin.startsWith('https:') ? { connect: { ...this.#tls } } : {}),
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Close `origin`'s pool once the requests on it are done (its replica left); a later request opens a new one. */
  retire(origin: string): void {
    const pool = this.#pools.get(origin);
    if (pool === undefined) return;
    this.#pools.delete(origin);
    this.#retiring.add(pool);
    void pool
      .close()
      .catch(() => {})
      .finally(() => this.#retiring.delete(pool));
  }

  async close(): Promise<void> {
    this.#pending.rejectAll(new TransportError('UNAVAILABLE', 'http: transport closed'));
    const pools = [...this.#pools.values(), ...this.#retiring];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})));
  }
}

/** Collects one response: its status and its body as text. */
class ResponseReader implements Dispatcher.DispatchHandler {
  #status = 0;
  #chunks: Buffer[] = [];
  readonly #resolve: (response: RawResponse) => void;
  readonly #reject: (err: Error) => void;
  readonly #cancel: Cancel | undefined;

  constructor(resolve: (response: RawResponse) => void, reject: (err: Error) => void, cancel: Cancel | undefined) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#cancel = cancel;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#cancel?.onAbortable((reason) => controller.abort(reason));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    const chunks = this.#chunks;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.#resolve({ status: this.#status, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#reject(err);
  }
}

/** A reply's value, or the error it carries: the peer's own {code, message} when it sent one. */
export function decodeReply({ status, text }: RawResponse, from: string): unknown {
  if (status >= 200 && status < 300) {
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new TransportError('INTERNAL', `http: reply from ${from} is not valid JSON`);
    }
  }
  const wire = parseWireError(text);
  if (wire !== undefined) throw fromWireError(wire);
  const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  throw new TransportError(
    codeOfHttpStatus(status),
    `http: ${from} answered ${status}${excerpt ? `: ${excerpt}` : ''}`,
  );
}

function parseWireError(text: string): WireError | undefined {
  try {
    return wireErrorOf(JSON.parse(text));
  } catch {
    // not JSON: a proxy's or Fastify's own page
  }
  return undefined;
}

export function clientError(err: unknown, origin: string): TransportError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new TransportError('RESOURCE_EXHAUSTED', `http: reply from ${origin} is over the limit`, { cause: err });
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return new TransportError('INVALID_ARGUMENT', `http: ${(err as Error).message}`, { cause: err });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransportError('DEADLINE_EXCEEDED', `http: no reply from ${origin} in time`, { cause: err });
  }
  return unavailable(`http: ${origin} unreachable`, err);
}

/** The request never left: nobody listens there, so another replica may safely take it. */
export function wasRefused(err: unknown): boolean {
  return err instanceof TransportError && (err.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';
}
