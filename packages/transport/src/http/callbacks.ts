/**
 * Events over HTTP, the subscriber's half: a small callback server (started with the
 * first subscription) where publishers POST events, and the registrations that tell them
 * where it is, renewed every ttl/3 so that a restart of either side heals by itself.
 *
 * Where the callback server listens: on 127.0.0.1 while every publisher it registers
 * with is on loopback; on all interfaces as soon as one is not, advertising the host
 * 0.0.0.0, which the publisher replaces by the address the registration came from
 * (the one address of ours it is known to reach). The unguessable subscription id in the
 * callback path keeps strangers from injecting events without a secret; with TRANSPORT_SECRET
 * every event (and challenge) must also be signed by a publisher (auth.ts).
 *
 * A publisher registers the callback only once it has answered a challenge (webhooks.ts): a
 * POST carrying x-chirp-challenge instead of an event is answered `{answer}`, the HMAC of the
 * challenge bound to this subscription's id, topic and group, and runs no handler.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { deliver } from '../dispatch.js';
import { isLoopbackHost, parseHostPort, type ReplicaUsers } from '../endpoints.js';
import type { TransportOptions } from '../options.js';
import { RenewedSubscriptions, topicMatches, type LocalSubscription } from '../subscribers.js';
import type { EventHandler, Subscription } from '../transport.js';
import { SEALED, answerChallenge } from '../signing.js';
import {
  CHALLENGE_HEADER,
  EVENTS_PATH,
  JSON_TYPE,
  SUBSCRIPTIONS_PATH,
  TOPIC_HEADER,
  closeApp,
  createApp,
  headerOf,
  sendError,
  traceHeadersOf,
} from './app.js';
import type { HttpSigning } from './auth.js';
import { decodeReply, type HttpClient } from './client.js';
import { httpsOptions, type HttpTls } from './tls.js';
import { challengeBinding, type Registration } from './webhooks.js';

interface CallbackServer {
  app: FastifyInstance;
  /** Loopback only, or every interface. */
  public: boolean;
  /** The callback URL's origin as publishers are told it. */
  advertised: string;
}

export class CallbackSubscriptions implements ReplicaUsers {
  readonly #options: TransportOptions;
  readonly #client: HttpClient;
  readonly #signing: HttpSigning;
  readonly #subscriptions: RenewedSubscriptions;
  #server: Promise<CallbackServer> | undefined;

  readonly #tls: HttpTls['server'];

  constructor(options: TransportOptions, client: HttpClient, signing: HttpSigning, tls: HttpTls['server']) {
    this.#options = options;
    this.#client = client;
    this.#signing = signing;
    this.#tls = tls;
    this.#subscriptions = new RenewedSubscriptions('http', options, {
      register: (address, id, sub, timeoutMs) => this.#register(address, id, sub, timeoutMs),
      unregister: (address, id, timeoutMs) => this.#unregister(address, id, timeoutMs),
    });
  }

  /** Register with every replica of `service`: resolves once one has accepted, renewals retry the others. */
  subscribe(service: string, topic: string, handler: EventHandler, group: string | undefined): Promise<Subscription> {
    return this.#subscriptions.subscribe(service, topic, handler, group);
  }

  /** The publishers' replicas changed: register with the new ones now, forget those gone (subscribers.ts). */
  refresh(): string[] {
    return this.#subscriptions.refresh();
  }

  uses(address: string): boolean {
    return this.#subscriptions.uses(address);
  }

  async #register(address: string, subscriptionId: string, sub: LocalSubscription, timeoutMs: number): Promise<void> {
    const server = await this.#callbackServer(!isLoopback(address));
    const registration: Registration = {
      subscriptionId,
      topic: sub.topic,
      ...(sub.group === undefined ? {} : { group: sub.group }),
      callbackUrl: `${server.advertised}${EVENTS_PATH}/${subscriptionId}`,
      ttlMs: this.#options.subscriptionTtlMs,
    };
    const origin = this.#client.originOf(address);
    await this.#client.call(`http subscribe ${sub.topic} at ${address}`, timeoutMs, async (cancel) => {
      const body = JSON.stringify(registration);
      const headers: string[] = [];
      this.#signing.sign(headers, SEALED.httpToServer, 'POST', SUBSCRIPTIONS_PATH, body);
      decodeReply(
        await this.#client.exchange(origin, { method: 'POST', path: SUBSCRIPTIONS_PATH, headers, body }, { cancel }),
        address,
      );
    });
  }

  #unregister(address: string, subscriptionId: string, timeoutMs: number): Promise<unknown> {
    const path = `${SUBSCRIPTIONS_PATH}/${encodeURIComponent(subscriptionId)}`;
    return this.#client.call('http unsubscribe', timeoutMs, (cancel) => {
      const headers: string[] = [];
      this.#signing.sign(headers, SEALED.httpToServer, 'DELETE', path, undefined);
      return this.#client.exchange(this.#client.originOf(address), { method: 'DELETE', path, headers }, { cancel });
    });
  }

  /** The callback server, started on first use; moved to every interface once a publisher needs it. */
  async #callbackServer(needsPublic: boolean): Promise<CallbackServer> {
    this.#server ??= this.#startServer(needsPublic);
    const starting = this.#server;
    const current = await starting;
    if (current.public || !needsPublic) return current;
    if (this.#server === starting) {
      // The first call to notice moves the server; concurrent ones wait for the same move.
      this.#server = this.#startServer(true);
      void this.#reregisterAfterMove(current);
    }
    return this.#server;
  }

  /** Publishers still hold the loopback URL: tell them the new one before closing the old server. */
  async #reregisterAfterMove(old: CallbackServer): Promise<void> {
    await this.#server;
    await this.#subscriptions.registerAll();
    await closeApp(old.app, () => Promise.resolve());
  }

  #startServer(isPublic: boolean): Promise<CallbackServer> {
    const started = this.#listen(isPublic);
    // A failed start is not remembered: the next subscription or renewal tries again.
    started.catch(() => {
      if (this.#server === started) this.#server = undefined;
    });
    return started;
  }

  async #listen(isPublic: boolean): Promise<CallbackServer> {
    const tls = this.#tls;
    const app = createApp(
      this.#options.maxMessageBytes,
      this.#options.logger,
      tls === undefined ? undefined : httpsOptions(tls),
    );
    this.#signing.guard(app, SEALED.httpToCallback, this.#options.logger);
    app.post<{ Params: { subscriptionId: string } }>(`${EVENTS_PATH}/:subscriptionId`, async (request, reply) => {
      const sub = this.#subscriptions.get(request.params.subscriptionId);
      if (sub === undefined) {
        return sendError(reply, 404, {
          code: 'NOT_FOUND',
          message: `no subscription ${request.params.subscriptionId} here`,
        });
      }
      const challenge = headerOf(request, CHALLENGE_HEADER);
      if (challenge !== undefined) {
        const binding = challengeBinding(request.params.subscriptionId, sub.topic, sub.group);
        const answer = answerChallenge(this.#signing.sealer, Buffer.from(challenge, 'base64url'), binding);
        return reply
          .code(200)
          .header('content-type', JSON_TYPE)
          .send(JSON.stringify({ answer: answer.toString('base64url') }));
      }
      // The topic it was published on, when it fits the subscription's (which may be a pattern).
      const published = headerOf(request, TOPIC_HEADER);
      const topic = published !== undefined && topicMatches(sub.topic, published) ? published : sub.topic;
      const incoming = { transport: 'http' as const, service: sub.service, topic, trace: traceHeadersOf(request) };
      // Answered after the handler: a publisher with many events queued for a slow subscriber waits (and then drops).
      await deliver(sub.handler, request.body, incoming, this.#options.logger);
      return reply.code(204).send();
    });
    const host = isPublic ? '0.0.0.0' : '127.0.0.1';
    await app.listen({ host, port: 0 });
    const { port } = app.server.address() as AddressInfo;
    return { app, public: isPublic, advertised: `${tls === undefined ? 'http' : 'https'}://${host}:${port}` };
  }

  async close(): Promise<void> {
    this.#subscriptions.close();
    const server = await this.#server?.catch(() => undefined);
    if (server !== undefined) await closeApp(server.app, () => Promise.resolve());
  }
}

function isLoopback(address: string): boolean {
  return isLoopbackHost(parseHostPort(address).host);
}
