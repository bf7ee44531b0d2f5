/**
 * One service call over HTTP as a single object: the undici dispatch handler of its request,
 * its cancellation at the deadline, and its move to the next replica when a connection is
 * refused (the request never left, so no handler can have run).
 *
 * Why one object: at concurrency 64 a call lives long enough for the young generation to be
 * collected while it is in flight, and every object it holds then is copied, and promoted when
 * it lives through two collections. The first dispatch()-based client (a promise, a handler,
 * a cancel token and five closures per call, on top of the pending entry) had the garbage
 * collector take a sixth of the load generator's CPU, four times bare undici's share.
 *
 * It implements the handler methods undici 7 calls itself (onConnect, onHeaders, onData,
 * onComplete, onError; typed as deprecated). The newer ones (onRequestStart…) are adapted to
 * these by a wrapper, a controller and the response's headers parsed into an object, per
 * response: promoted bytes per call 2,900 → 1,900 and 4.6 µs less scavenging per call on the
 * load generator. (Dispatcher.DispatchHandler allows both; revisit with undici 8.)
 */
import type { Dispatcher } from 'undici';
import { TransportError } from '../errors.js';
import type { EndpointSet, EndpointState } from '../endpoints.js';
import type { ClientCall } from '../tracing.js';
import { clientError, decodeReply, wasRefused, type HttpClient } from './client.js';

export class ServiceCall implements Dispatcher.DispatchHandler {
  readonly id: string;
  readonly #client: HttpClient;
  readonly #endpoints: EndpointSet;
  readonly #path: string;
  readonly #headers: string[];
  readonly #body: string | undefined;
  readonly #span: ClientCall;
  readonly #bytes: number;
  #endpoint: EndpointState | undefined;
  /** Whether this call counts in #endpoint's outstanding calls (from start() until settled or moved on). */
  #counted = false;
  #tried = 0;
  #abort: ((reason: Error) => void) | undefined;
  /** Settled (answered, failed, timed out or cancelled): nothing more to do. */
  #done = false;
  #status = 0;
  #chunks: Buffer[] = [];

  constructor(
    client: HttpClient,
    id: string,
    endpoints: EndpointSet,
    request: { path: string; headers: string[]; body: string | undefined; bytes: number },
    span: ClientCall,
  ) {
    this.#client = client;
    this.id = id;
    this.#endpoints = endpoints;
    this.#path = request.path;
    this.#headers = request.headers;
    this.#body = request.body;
    this.#bytes = request.bytes;
    this.#span = span;
  }

  /** Send to a live replica, the less loaded of two (endpoints.ts). */
  start(): void {
    let endpoint: EndpointState;
    try {
      endpoint = this.#endpoints.pick();
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#endpoint = endpoint;
    endpoint.outstanding++;
    this.#counted = true;
    this.#tried++;
    this.#status = 0;
    this.#chunks = [];
    this.#span.sent(endpoint.address, this.#bytes);
    const origin = this.#client.originOf(endpoint.address);
    this.#client
      .pool(origin)
      .dispatch({ origin, method: 'POST', path: this.#path, headers: this.#headers, body: this.#body }, this);
  }

  /** The deadline passed or the transport closed: abort the request (HTTP/1.1 loses its connection with it). */
  cancel(): void {
    this.#uncount();
    if (this.#done) return;
    this.#done = true;
    this.#abort?.(new TransportError('DEADLINE_EXCEEDED', 'http: request cancelled'));
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort(new TransportError('DEADLINE_EXCEEDED', 'http: request cancelled'));
  }

  onHeaders(statusCode: number): boolean {
    this.#status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#done) return;
    this.#done = true;
    const chunks = this.#chunks;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    const endpoint = this.#endpoint!;
    this.#uncount();
    this.#endpoints.markUp(endpoint);
    let value: unknown;
    try {
      value = decodeReply({ status: this.#status, text }, endpoint.address);
    } catch (err) {
      this.#client.settle(this.id, err as Error);
      return;
    }
    this.#client.settle(this.id, undefined, value);
  }

  onError(err: Error): void {
    if (this.#done) return;
    const endpoint = this.#endpoint!;
    const error = clientError(err, this.#client.originOf(endpoint.address));
    this.#uncount();
    if (wasRefused(error)) {
      this.#endpoints.markDown(endpoint);
      if (this.#tried < this.#endpoints.endpoints.length) {
        this.start();
        return;
      }
    }
    this.#fail(error);
  }

  #uncount(): void {
    if (!this.#counted) return;
    this.#counted = false;
    this.#endpoint!.outstanding--;
  }

  #fail(error: Error): void {
    this.#done = true;
    this.#client.settle(this.id, error);
  }
}
