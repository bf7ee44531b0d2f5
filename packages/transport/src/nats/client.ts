/**
 * The calling side of request/reply. Replies come back to one inbox subscription per
 * connection (`_INBOX.<nuid>.>`, re-sent by nats.js after every reconnect) and are matched to
 * their calls by request id in the shared pending map, which also owns each call's deadline:
 * the same machinery as the other transports, rather than nats.js's request() with a timer and
 * a captured stack per call. A lost connection fails every call in flight at once (the handler
 * may or may not have run), as a closing transport does.
 */
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { createInbox } from '@nats-io/transport-node';
import { TransportError, fromWireError } from '../errors.js';
import { decodeReply, encodeBody } from '../json-body.js';
import { checkSize, outgoing, type OutgoingRequest, type TransportOptions } from '../options.js';
import { PendingRequests } from '../pending.js';
import type { RequestOptions } from '../transport.js';
import { publishError, type NatsLink } from './connection.js';
import type { ListenerSetup, NatsCounters } from './subscriptions.js';
import { HEADER_TIMEOUT_MS, isNoResponders, requestHeaders, type Subjects } from './wire.js';

export class RpcClient {
  readonly #options: TransportOptions;
  readonly #link: NatsLink;
  readonly #subjects: Subjects;
  readonly #limit: () => number;
  readonly #counters: NatsCounters;
  readonly #pending = new PendingRequests();
  /** The inbox on the current connection; a new connection gets a new one. */
  #inbox: { nc: NatsConnection; prefix: string } | undefined;

  constructor(options: TransportOptions, setup: Pick<ListenerSetup, 'link' | 'subjects' | 'limit' | 'counters'>) {
    this.#options = options;
    this.#link = setup.link;
    this.#subjects = setup.subjects;
    this.#limit = setup.limit;
    this.#counters = setup.counters;
    this.#link.onLost((error) => this.#pending.rejectAll(error));
  }

  request(service: string, method: string, payload: unknown, options?: RequestOptions): Promise<unknown> {
    const out = outgoing('nats', service, method, options, this.#options.defaultTimeoutMs);
    return this.#request(out, service, method, payload);
  }

  /** The call's span ends where the reply settles (the pending map), or here if nothing was sent. */
  async #request(out: OutgoingRequest, service: string, method: string, payload: unknown): Promise<unknown> {
    const deadline = Date.now() + out.timeoutMs;
    let subject: string;
    let headers: MsgHdrs;
    let body: Buffer;
    let nc = this.#link.current;
    let remainingMs = out.timeoutMs;
    try {
      subject = this.#subjects.rpc(service);
      headers = requestHeaders(method, out.timeoutMs, out.call.carrier);
      body = encodeBody(payload);
      if (nc === undefined) {
        nc = await this.#link.ready(deadline);
        // Waiting for the connection used up part of the deadline; the server gets what is left.
        remainingMs = Math.max(1, Math.ceil(deadline - Date.now()));
        headers.set(HEADER_TIMEOUT_MS, String(remainingMs));
      }
      // After connecting: the server's max_payload is part of the limit.
      if (body.length > this.#limit()) this.#counters.refused++;
      checkSize(body.length, this.#limit(), `request ${service}.${method}`);
    } catch (err) {
      return out.call.fail(err);
    }
    const reply = this.#pending.wait(out.id, remainingMs, `nats ${service}.${method}`, undefined, out.call);
    out.call.sent(subject, body.length);
    try {
      // The service rides in the reply subject so that a no-responders answer can name it.
      nc.publish(subject, body, { reply: `${this.#inboxOn(nc)}.${service}.${out.id}`, headers });
    } catch (err) {
      const error = publishError(`nats: request ${service}.${method}`, err);
      if (error.code === 'RESOURCE_EXHAUSTED') this.#counters.refused++;
      this.#pending.reject(out.id, error);
    }
    return reply;
  }

  close(error: TransportError): void {
    this.#pending.rejectAll(error);
  }

  #inboxOn(nc: NatsConnection): string {
    if (this.#inbox?.nc === nc) return this.#inbox.prefix;
    const prefix = createInbox();
    nc.subscribe(`${prefix}.>`, {
      callback: (err, msg) => {
        if (err === null) this.#onReply(msg, prefix);
      },
    });
    this.#inbox = { nc, prefix };
    return prefix;
  }

  #onReply(msg: Msg, prefix: string): void {
    const rest = msg.subject.slice(prefix.length + 1);
    const dot = rest.indexOf('.');
    const service = rest.slice(0, dot);
    const id = rest.slice(dot + 1);
    if (dot < 0 || !this.#pending.has(id)) return; // late: its call has timed out already
    if (isNoResponders(msg)) {
      this.#pending.reject(
        id,
        new TransportError('UNAVAILABLE', `nats: nobody serves ${service} (no subscriber to its subject)`),
      );
      return;
    }
    const body = decodeReply(msg.data, 'nats');
    if (body.ok) this.#pending.resolve(id, body.result);
    else this.#pending.reject(id, fromWireError(body.error));
  }
}
