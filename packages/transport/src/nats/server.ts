/**
 * The serving side of request/reply: one subscription to the service's subject, in a queue group
 * named after the service, so that the server hands each request to one replica (competing
 * consumers) with no address in config. Core NATS keeps nothing: a request that arrives while no
 * replica subscribes is answered "no responders" by the server at once, and one a replica took is
 * gone with it if it dies.
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import { toWireError } from '../errors.js';
import { InFlight, dispatch, type IncomingRequest as IncomingCall } from '../dispatch.js';
import type { ReplyBody } from '../envelope.js';
import { checkSize } from '../options.js';
import type { Handlers, Listener } from '../transport.js';
import { stopSubscription, subscribeNow, type ListenerSetup } from './subscriptions.js';
import { decodeRequest, encodeReply, type IncomingRequest } from './wire.js';

export class ServedSubject implements Listener {
  /** The service's subject: what callers reach, whichever replica answers. */
  readonly address: string;
  readonly #setup: ListenerSetup;
  readonly #service: string;
  readonly #handlers: Handlers;
  readonly #inFlight = new InFlight();
  #subscription: Subscription | undefined;
  #closing: Promise<void> | undefined;

  constructor(setup: ListenerSetup, service: string, handlers: Handlers) {
    this.#setup = setup;
    this.#service = service;
    this.#handlers = handlers;
    this.address = setup.subjects.rpc(service);
  }

  async start(deadline: number): Promise<void> {
    const nc = await this.#setup.link.ready(deadline);
    this.#subscription = await subscribeNow(nc, this.address, this.#service, (msg) => this.#onRequest(msg), deadline);
    // Closed while it was subscribing: close() found nothing to stop.
    if (this.#closing !== undefined) await stopSubscription(this.#subscription, this.#setup.graceMs);
  }

  /** Stop taking requests, let those started finish (within the grace period): their replies still go out. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#setup.onClosed(this);
      if (this.#subscription !== undefined) await stopSubscription(this.#subscription, this.#setup.graceMs);
      await this.#inFlight.drained(this.#setup.graceMs);
    })();
    return this.#closing;
  }

  #onRequest(msg: Msg): void {
    const receivedAt = Date.now();
    let request: IncomingRequest;
    try {
      request = decodeRequest(msg, this.#setup.limit());
    } catch (err) {
      // It would fail the same way on every replica: say why to whoever sent it, and carry on.
      this.#setup.counters.malformed++;
      this.#setup.logger.warn({ err, subject: msg.subject }, 'nats: malformed request refused');
      this.#reply(msg, { ok: false, error: toWireError(err) }, '(unknown method)');
      return;
    }
    const incoming: IncomingCall = {
      transport: 'nats',
      service: this.#service,
      method: request.method,
      trace: request.trace,
      deadline: receivedAt + request.timeoutMs,
      bytes: msg.data.length,
    };
    const body = dispatch(this.#handlers, incoming, request.payload, this.#setup.logger);
    if (!(body instanceof Promise)) {
      this.#reply(msg, body, request.method);
      return;
    }
    this.#inFlight.enter();
    void body.then((settled) => {
      this.#reply(msg, settled, request.method);
      this.#inFlight.leave();
    });
  }

  #reply(msg: Msg, body: ReplyBody, method: string): void {
    if (msg.reply === undefined || msg.reply === '') return; // nobody asked to be told
    let content: Buffer;
    try {
      content = encodeReply(body);
    } catch (err) {
      // A result JSON cannot express (a BigInt, a cycle): answer so the caller need not wait.
      this.#setup.logger.error({ err, service: this.#service, method }, 'nats: could not encode the reply');
      content = encodeReply({ ok: false, error: toWireError(err) });
    }
    try {
      checkSize(content.length, this.#setup.limit(), `reply to ${this.#service}.${method}`);
    } catch (err) {
      this.#setup.counters.refused++;
      content = encodeReply({ ok: false, error: toWireError(err) });
    }
    try {
      this.#setup.link.current?.publish(msg.reply, content);
    } catch (err) {
      // The connection closed meanwhile: the caller's call fails on its own side.
      this.#setup.logger.warn({ err, subject: this.address }, 'nats: reply not sent');
    }
  }
}
