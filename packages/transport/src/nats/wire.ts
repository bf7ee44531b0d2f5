/**
 * What this transport puts on NATS and what its messages look like there. Every subject starts
 * with the prefix, so deployments (and parallel test runs) sharing a server never meet.
 *
 *   <prefix>.rpc.<service>              requests; every replica subscribes in queue group <service>
 *   <prefix>.events.<service>.<topic>   events; a group subscribes in queue group <group>:<topic pattern>
 *   _INBOX.<nuid>.<service>.<id>        a reply, to the one `_INBOX.<nuid>.>` subscription of the caller's connection
 *
 * A request is a message on the service's subject with a reply subject and these headers:
 *
 *   Chirp-Method       the method (the subject names only the service, so one subscription per
 *                      service serves every method, and an unknown one is answered UNIMPLEMENTED
 *                      by that server rather than looking like nobody serves it)
 *   Chirp-Timeout-Ms   how long the caller still waits, in ms: the handler's deadline
 *   traceparent, tracestate   W3C trace context (tracing.ts), as on HTTP
 *
 * Its body is the JSON payload (empty for `undefined`). The reply is a `ReplyBody` as JSON, no
 * headers. A reply with an empty body and status 503 is the server's own "no responders": the
 * subject had no subscriber, and NATS names nothing else, which is why the caller's service rides
 * in its reply subject. An event is its JSON body with the trace headers.
 *
 * Everything that arrives is checked here before it is trusted: a body over the limit is refused
 * unread (RESOURCE_EXHAUSTED), a missing header or a body that is not JSON is INVALID_ARGUMENT.
 */
import { Match, headers as newHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { TransportError, checkReceivedSize, malformed } from '../errors.js';
import type { ReplyBody } from '../envelope.js';
import { decodeBody } from '../json-body.js';
import { checkPublishedTopic } from '../subscribers.js';
import type { TraceCarrier } from '../tracing.js';

export const HEADER_METHOD = 'Chirp-Method';
export const HEADER_TIMEOUT_MS = 'Chirp-Timeout-Ms';

/** A word of a subject: anything but the separator, NATS's wildcards, `#` (ours) and whitespace (which ends a subject on the wire). */
const WORD = /^[^\s.*>#]+$/;
/** Words joined by dots, none empty: topics may have dots (`post.created`). */
const WORDS = /^[^\s.*>#]+(\.[^\s.*>#]+)*$/;
/** A queue group's name is one field of the SUB line: no whitespace; no wildcards, to be safe with any server. */
const GROUP = /^[^\s*>]+$/;

/** What one subscription listens to: the subjects, its queue group, and whether arrivals need filtering. */
export interface EventSubjects {
  subjects: string[];
  queue: string | undefined;
  /** The subjects take more than the pattern does: check each topic (subscribers.ts topicMatches). */
  filter: boolean;
}

export class Subjects {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  rpc(service: string): string {
    checkName(WORD.test(service), 'service', service);
    return this.#checked(`${this.#prefix}.rpc.${service}`);
  }

  /** Where an event on `topic` is published. */
  event(service: string, topic: string): string {
    checkPublishedTopic(topic);
    checkName(WORDS.test(topic), 'topic', topic);
    return this.#events(service) + topic;
  }

  /**
   * What a subscription to `pattern` (`*` one word, `#` any number: subscribers.ts) listens to.
   * `*` is NATS's own. `#` has no NATS twin (`>` takes one or more words, and only at the end),
   * so from the first `#` on the subject ends in `>`, another subject without it takes the case
   * of no words at all, and arrivals are filtered. A group is a queue group named after the
   * pattern too: NATS hands an event to one member per queue name across every subject it
   * matches, so two groups of one name on overlapping patterns would otherwise share (and,
   * filtered, lose) events that AMQP, with a queue per group and pattern, gives to both.
   */
  eventSubscription(service: string, pattern: string, group: string | undefined): EventSubjects {
    const words = pattern.split('.');
    const ok = words.every((word) => word === '*' || word === '#' || WORD.test(word));
    checkName(ok, 'topic', pattern);
    if (group !== undefined) checkName(GROUP.test(group), 'group', group);
    const base = this.#events(service);
    const queue = group === undefined ? undefined : `${group}:${pattern.replaceAll('*', '%2A').replaceAll('#', '%23')}`;
    const hash = words.indexOf('#');
    if (hash < 0) return { subjects: [base + pattern], queue, filter: false };
    const before = words.slice(0, hash);
    if (before.length === 0) return { subjects: [`${base}>`], queue, filter: true };
    return { subjects: [`${base}${before.join('.')}.>`, base + before.join('.')], queue, filter: true };
  }

  /** The topic an event was published on, from its subject (a subscription's may be a pattern). */
  topicOf(service: string, subject: string): string {
    return subject.slice(this.#events(service).length);
  }

  #events(service: string): string {
    checkName(WORD.test(service), 'service', service);
    return this.#checked(`${this.#prefix}.events.${service}.`);
  }

  /** The prefix is configuration, checked where it is used so that constructing a transport never throws. */
  #checked(subject: string): string {
    checkName(WORDS.test(this.#prefix), 'prefix (NATS_PREFIX)', this.#prefix);
    return subject;
  }
}

function checkName(ok: boolean, what: string, name: string): void {
  if (ok) return;
  throw new TransportError(
    'INVALID_ARGUMENT',
    `nats: ${what} ${JSON.stringify(name)} cannot be part of a subject: no whitespace, no >, ` +
      'no empty part between dots, and * or # only as a whole word of a subscribed topic (a service has no dots)',
  );
}

/** The headers of a request. Header values cannot hold CR or LF, and NATS trims them: such a method is refused. */
export function requestHeaders(method: string, timeoutMs: number, trace: TraceCarrier): MsgHdrs {
  if (method.length === 0 || /[\r\n]/.test(method) || method.trim() !== method) {
    throw new TransportError(
      'INVALID_ARGUMENT',
      `nats: method ${JSON.stringify(method)} cannot be sent in a header (empty, line breaks, or spaces at either end)`,
    );
  }
  const headers = traceHeaders(trace);
  headers.set(HEADER_METHOD, method);
  headers.set(HEADER_TIMEOUT_MS, String(timeoutMs));
  return headers;
}

export function traceHeaders(trace: TraceCarrier): MsgHdrs {
  const headers = newHeaders();
  if (trace.traceparent !== undefined) headers.set('traceparent', trace.traceparent);
  if (trace.tracestate !== undefined) headers.set('tracestate', trace.tracestate);
  return headers;
}

export interface IncomingRequest {
  method: string;
  timeoutMs: number;
  payload: unknown;
  trace: TraceCarrier;
}

/** Throws INVALID_ARGUMENT naming what is wrong, or RESOURCE_EXHAUSTED for a body over `maxBytes` (not parsed). */
export function decodeRequest(msg: Msg, maxBytes: number): IncomingRequest {
  checkReceivedSize(msg.data.length, maxBytes);
  const method = header(msg, HEADER_METHOD);
  if (method === '') throw malformed(`header ${HEADER_METHOD} (the method) is missing`);
  const timeoutMs = Number(header(msg, HEADER_TIMEOUT_MS));
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw malformed(`header ${HEADER_TIMEOUT_MS} must be a positive number of milliseconds`);
  }
  return { method, timeoutMs, payload: decodeBody(msg.data), trace: traceOf(msg) };
}

export function decodeEvent(msg: Msg, maxBytes: number): { payload: unknown; trace: TraceCarrier } {
  checkReceivedSize(msg.data.length, maxBytes);
  return { payload: decodeBody(msg.data), trace: traceOf(msg) };
}

export function encodeReply(body: ReplyBody): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** NATS's own "nobody subscribes to that subject" answer to a request. */
export function isNoResponders(msg: Msg): boolean {
  return msg.data.length === 0 && msg.headers?.code === 503;
}

/** What trace context a message carries; tracing.ts ignores a malformed one (a new trace), never refuses it. */
function traceOf(msg: Msg): TraceCarrier {
  const traceparent = header(msg, 'traceparent');
  const tracestate = header(msg, 'tracestate');
  return { traceparent: traceparent || undefined, tracestate: tracestate || undefined };
}

/** A header's first value, '' when absent; names in any case, as in HTTP (a foreign client may send `Traceparent`). */
function header(msg: Msg, name: string): string {
  return msg.headers?.get(name, Match.IgnoreCase) ?? '';
}
