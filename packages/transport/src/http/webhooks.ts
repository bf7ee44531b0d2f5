/**
 * Events over HTTP, the publisher's half (the Skyhooks pattern): subscribers register a
 * callback URL with the publisher's listener, and each event is POSTed to it.
 *
 *   POST   /_chirp/subscriptions       {subscriptionId, topic, group?, callbackUrl, ttlMs}  -> 204
 *   DELETE /_chirp/subscriptions/:id                                                        -> 204
 *   (publisher -> subscriber) POST <callbackUrl>   x-chirp-challenge: <16 random bytes>     -> 200 {answer}
 *   (publisher -> subscriber) POST <callbackUrl>   body: the event; traceparent, x-chirp-topic
 *
 * A registration lives for its ttl unless renewed, so a subscriber that died without a
 * word stops costing events, and one that restarts (or a publisher that restarted and
 * forgot everyone) is back in the registry at the next renewal.
 *
 * Who may register where. A callback URL is the registrant's to choose, so without checks it
 * makes the publisher POST every event wherever it is told (server-side request forgery: an
 * internal admin URL, with user ids in the events). So: with TRANSPORT_SECRET a registration,
 * like every request, must be signed (auth.ts); and a callback is registered only once it has
 * answered a challenge — the publisher POSTs fresh random bytes (signed, no event) to the
 * callback URL itself, and the answer must be their HMAC bound to the subscription id, topic
 * and group (signing.ts answerChallenge: with the secret, else with a public key, which still
 * takes Chirp's own callback server to compute). Anything else — a plain server that records or
 * echoes requests — gets the challenge and nothing after it; the registrant learns only "refused",
 * never what the callback answered. Renewals of a proven registration are not challenged again.
 * Events are signed like calls, so a subscriber refuses ones a stranger forged.
 */
import type { FastifyInstance } from 'fastify';
import { checkSize } from '../options.js';
import { formatHostPort } from '../endpoints.js';
import type { Logger } from '../logger.js';
import { SEALED, challengeAnswered, newChallenge } from '../signing.js';
import type { SubscriberEntry, SubscriberRegistry } from '../subscribers.js';
import type { TraceCarrier } from '../tracing.js';
import { CHALLENGE_HEADER, SUBSCRIPTIONS_PATH, TOPIC_HEADER, sendError, traceHeaders } from './app.js';
import type { HttpSigning } from './auth.js';
import { wasRefused, type HttpClient, type RawResponse } from './client.js';

/** Where one subscription's events go. */
export interface CallbackSink {
  origin: string;
  path: string;
}

/** No registration outlives this without renewal, whatever ttl a subscriber asks for. */
const MAX_TTL_MS = 10 * 60_000;

/**
 * Events waiting for a connection to one callback origin before new ones are dropped: a
 * subscriber that cannot keep up loses events rather than growing the publisher's memory.
 */
const SLOW_SUBSCRIBER_QUEUE = 1_000;

/**
 * How long a callback has to answer its challenge. A registration waits for it, so it is
 * short; a loopback or LAN callback answers in milliseconds.
 */
const CHALLENGE_TIMEOUT_MS = 2_000;

/** A callback host that means "the address you see this registration coming from". */
const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '[::]']);

export interface Registration {
  subscriptionId: string;
  topic: string;
  group?: string;
  callbackUrl: string;
  ttlMs: number;
}

/** What the publisher's side needs besides its registry: signing, a client to challenge callbacks with, a log. */
export interface WebhookPeers {
  signing: HttpSigning;
  client: HttpClient;
  logger: Logger;
  stats: WebhookStats;
}

/**
 * What went wrong with webhooks, counted (on /metrics as chirp_transport_http_*_total) while the
 * log says it once per interval: callbacks that failed the challenge, events a callback did not
 * take (an error status, a timeout, a refused connection), events dropped for a subscriber too slow.
 */
export interface WebhookStats {
  challengesFailed: number;
  eventsUndelivered: number;
  eventsDropped: number;
}

export function emptyWebhookStats(): WebhookStats {
  return { challengesFailed: 0, eventsUndelivered: 0, eventsDropped: 0 };
}

export function subscriptionRoutes(
  app: FastifyInstance,
  registry: SubscriberRegistry<CallbackSink>,
  peers: WebhookPeers,
): void {
  const { logger } = peers;
  app.post(SUBSCRIPTIONS_PATH, async (request, reply) => {
    const problem = registrationProblem(request.body);
    if (problem !== undefined)
      return sendError(reply, 400, { code: 'INVALID_ARGUMENT', message: `subscription ${problem}` });
    const registration = request.body as Registration;
    const sink = sinkOf(registration.callbackUrl, request.socket.remoteAddress);
    if (sink === undefined) {
      return sendError(reply, 400, {
        code: 'INVALID_ARGUMENT',
        message: 'subscription callbackUrl must be an http:// or https:// URL',
      });
    }
    const entry: SubscriberEntry<CallbackSink> = {
      subscriptionId: registration.subscriptionId,
      topic: registration.topic,
      group: registration.group,
      sink,
      expiresAt: Date.now() + Math.min(registration.ttlMs, MAX_TTL_MS),
    };
    const known = registry.get(entry.subscriptionId);
    if (known === undefined || !sameRegistration(known, entry)) {
      if (!(await answersChallenge(peers, entry))) {
        return sendError(reply, 403, {
          code: 'PERMISSION_DENIED',
          message:
            'subscription refused: its callback did not answer the challenge as a Chirp subscriber of this subscription',
        });
      }
    }
    registry.upsert(entry);
    logger.debug({ subscriptionId: entry.subscriptionId, topic: entry.topic }, 'http: subscription registered');
    return reply.code(204).send();
  });
  app.delete<{ Params: { id: string } }>(`${SUBSCRIPTIONS_PATH}/:id`, (request, reply) => {
    registry.remove(request.params.id);
    return reply.code(204).send();
  });
}

function sameRegistration(a: SubscriberEntry<CallbackSink>, b: SubscriberEntry<CallbackSink>): boolean {
  return a.topic === b.topic && a.group === b.group && a.sink.origin === b.sink.origin && a.sink.path === b.sink.path;
}

/** What a challenge's answer is bound to: the subscription as the registration describes it. */
export function challengeBinding(subscriptionId: string, topic: string, group: string | undefined): string[] {
  return [subscriptionId, topic, group ?? ''];
}

/**
 * POST a fresh challenge to the callback (signed, no body) and check its answer. Whatever
 * went wrong is logged here, not told to the registrant: the callback's reply, its status or
 * its silence would make the publisher a probe of the network behind it.
 */
async function answersChallenge(
  { signing, client, logger, stats }: WebhookPeers,
  entry: SubscriberEntry<CallbackSink>,
): Promise<boolean> {
  const { origin, path } = entry.sink;
  const challenge = newChallenge();
  const headers = [CHALLENGE_HEADER, challenge.toString('base64url'), TOPIC_HEADER, entry.topic];
  signing.sign(headers, SEALED.httpToCallback, 'POST', path, undefined);
  let reason: string;
  try {
    const response = (await client.call(`http challenge to ${origin}`, CHALLENGE_TIMEOUT_MS, (cancel) =>
      client.exchange(origin, { method: 'POST', path, headers }, { cancel }),
    )) as RawResponse;
    const answer = response.status === 200 ? answerIn(response.text) : undefined;
    const binding = challengeBinding(entry.subscriptionId, entry.topic, entry.group);
    if (answer !== undefined && challengeAnswered(signing.sealer, challenge, binding, answer)) return true;
    reason = answer === undefined ? `answered ${response.status} without an answer` : 'answered wrongly';
  } catch (err) {
    reason = (err as Error).message;
  }
  stats.challengesFailed++;
  logger.warn(
    { subscriptionId: entry.subscriptionId, topic: entry.topic, origin, reason },
    'http: subscription refused: its callback failed the challenge',
  );
  return false;
}

function answerIn(text: string): Buffer | undefined {
  try {
    const { answer } = JSON.parse(text) as { answer?: unknown };
    return typeof answer === 'string' ? Buffer.from(answer, 'base64url') : undefined;
  } catch {
    return undefined;
  }
}

function registrationProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'must be a JSON object';
  const r = body as Record<string, unknown>;
  for (const field of ['subscriptionId', 'topic', 'callbackUrl'] as const) {
    if (typeof r[field] !== 'string' || r[field] === '') return `${field} must be a non-empty string`;
  }
  if (r.group !== undefined && (typeof r.group !== 'string' || r.group === ''))
    return 'group must be a non-empty string';
  if (typeof r.ttlMs !== 'number' || !(r.ttlMs > 0)) return 'ttlMs must be a positive number';
  return undefined;
}

export function sinkOf(callbackUrl: string, remoteAddress: string | undefined): CallbackSink | undefined {
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  let origin = url.origin;
  if (UNSPECIFIED_HOSTS.has(url.hostname) && remoteAddress !== undefined) {
    const host = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice('::ffff:'.length) : remoteAddress;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    origin = `${url.protocol}//${formatHostPort({ host, port })}`;
  }
  return { origin, path: `${url.pathname}${url.search}` };
}

/**
 * POST one event to every target and return without waiting for them: a slow or dead
 * subscriber must not hold up the publisher. A callback that answers 404/410 (it no
 * longer knows the subscription) or refuses the connection loses its registration; a
 * live subscriber brings it back at its next renewal.
 */
export function fanOut(
  { client, signing, logger, stats }: WebhookPeers,
  registry: SubscriberRegistry<CallbackSink>,
  topic: string,
  event: unknown,
  trace: TraceCarrier,
  timeoutMs: number,
  maxMessageBytes: number,
): { copies: number; bytes: number } {
  const targets = registry.targets(topic);
  const body = event === undefined ? undefined : JSON.stringify(event);
  const bytes = body === undefined ? 0 : Buffer.byteLength(body);
  if (targets.length === 0) return { copies: 0, bytes };
  checkSize(bytes, maxMessageBytes, `event ${topic}`);
  const headers = traceHeaders(trace);
  headers.push(TOPIC_HEADER, topic);
  const traceId = trace.traceparent?.slice(3, 35);
  let copies = 0;
  for (const target of targets) {
    const { origin, path } = target.sink;
    if (client.pool(origin).stats.queued > SLOW_SUBSCRIBER_QUEUE) {
      stats.eventsDropped++;
      logger.warn({ topic, subscriptionId: target.subscriptionId, origin }, 'http: subscriber too slow, event dropped');
      continue;
    }
    copies++;
    const forget = (): void =>
      registry.removeWhere((e) => e.subscriptionId === target.subscriptionId && e.sink === target.sink);
    const undelivered = (reason: string): void => {
      stats.eventsUndelivered++;
      logger.warn(
        { topic, traceId, subscriptionId: target.subscriptionId, origin: target.sink.origin, reason },
        'http: event not delivered',
      );
    };
    const own = signing.sealer === undefined ? headers : [...headers];
    signing.sign(own, SEALED.httpToCallback, 'POST', path, body);
    client.exchange(origin, { method: 'POST', path, headers: own, body }, { timeoutMs }).then(
      ({ status }) => {
        if (status === 404 || status === 410) forget();
        else if (status >= 300) undelivered(`callback answered ${status}`);
      },
      (err: unknown) => {
        if (wasRefused(err)) forget();
        undelivered((err as Error).message);
      },
    );
  }
  return { copies, bytes };
}
