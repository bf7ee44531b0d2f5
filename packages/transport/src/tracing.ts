/**
 * Trace context and spans for every transport, made here and nowhere else (W3C Trace Context
 * through @opentelemetry/api):
 *
 *   caller                                       wire                     server
 *   startCall()     CLIENT span "posts/create"   ── traceparent ──▶       startHandling()  SERVER span "posts/create";
 *                   ends when the reply arrives                           the handler runs inside it, so its own calls,
 *                                                                         events and queries are its children
 *   startPublish()  PRODUCER span                ── traceparent ──▶       startDelivery()  CONSUMER span, one per
 *                   "publish post.created"          with every copy        delivery, child of the publish
 *
 * What travels is a TraceCarrier, `{ traceparent, tracestate? }`. Each transport puts it in its
 * own protocol's place (HTTP headers, AMQP message headers, the TCP and UDP envelopes) and hands
 * what arrived back here, so the format is written once. A missing or malformed traceparent
 * starts a new trace; it is never an error.
 *
 * Without an OpenTelemetry SDK (a library user, a test, OTEL_SDK_DISABLED=true) spans record
 * nothing and cost little, but a trace id still travels: the first hop makes one, so one user
 * action can still be followed through the logs. Metrics hang off the same points (observer.ts).
 */
import { performance } from 'node:perf_hooks';
import {
  INVALID_SPANID,
  INVALID_SPAN_CONTEXT,
  INVALID_TRACEID,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context as contexts,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { TraceState, parseTraceParent } from '@opentelemetry/core';
import { TransportError } from './errors.js';
import { newSpanId, newTraceId } from './ids.js';
import { callObserver } from './observer.js';
import type { TransportKind } from './transport.js';

/** The trace context one message carries. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The name the transports' tracer is asked for by: @chirp/telemetry answers it with a tracer of
 * its own, made for spans this frequent (call-tracer.ts).
 */
export const TRANSPORT_TRACER = '@chirp/transport';

/**
 * The tracer of the SDK registered now, or undefined when none is. Looked up again when the
 * registration changes (a process that turns telemetry off and on, as the benchmark's load
 * generator does): a tracer kept from an earlier provider would go on using that provider's
 * sampler. The API registers a proxy and puts the SDK's provider behind it, so both are compared.
 */
let registered: { provider: TracerProvider; delegate: TracerProvider; tracer: Tracer | undefined } | undefined;
function sdkTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const proxy = provider instanceof ProxyTracerProvider ? provider : undefined;
  const delegate = proxy?.getDelegate() ?? provider;
  if (registered?.provider !== provider || registered.delegate !== delegate) {
    const tracer =
      proxy === undefined ? provider.getTracer(TRANSPORT_TRACER) : proxy.getDelegateTracer(TRANSPORT_TRACER);
    registered = { provider, delegate, tracer };
  }
  return registered.tracer;
}

const FOLLOWS_PARENT = Symbol.for('chirp.transport.followsParentSampling');
const policy = globalThis as typeof globalThis & { [FOLLOWS_PARENT]?: boolean };

/**
 * Told by @chirp/telemetry when the sampler follows the caller's decision (`parentbased_*`, the
 * default): a span under an unsampled parent is then never recorded, so it is not made at all —
 * the parent's context stands in for it, as without an SDK. Nothing of an unsampled trace is
 * kept anywhere, so a fresh span id would name nothing; what matters travels unchanged (the
 * trace id for the logs, the flags that keep the rest of the trace unsampled). The SDK's
 * sampling, id generation and bookkeeping, and a new context per hop, cost a small call more
 * than its own dispatch, for nothing kept.
 */
export function followParentSampling(on: boolean): void {
  policy[FOLLOWS_PARENT] = on;
}

/**
 * A span, child of `parent`'s. `checked`: the parent's span context is known to be valid (it came
 * from extract()), so it need not be checked again.
 */
function startSpan(name: string, kind: SpanKind, parent: Context, checked = false): Span {
  if (policy[FOLLOWS_PARENT] === true) {
    const caller = trace.getSpanContext(parent);
    if (caller !== undefined && (caller.traceFlags & TraceFlags.SAMPLED) === 0 && caller.traceId !== INVALID_TRACEID) {
      return trace.wrapSpanContext(caller);
    }
  }
  const tracer = sdkTracer();
  if (tracer !== undefined) return tracer.startSpan(name, { kind }, parent);
  // No SDK: the span the API's no-op tracer would make (the parent's context, recording nothing),
  // made here because its way there (proxy, no-op tracer, two regular expressions over the
  // parent's ids) was a third of a server call's tracing cost.
  const own = trace.getSpanContext(parent);
  return own !== undefined && (checked || isSpanContextValid(own)) ? trace.wrapSpanContext(own) : NO_SPAN;
}

/** The span of no trace: records nothing and holds nothing, so one serves every call outside a trace. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Attribute names beyond OpenTelemetry's semantic conventions, all under `chirp.`. */
export const CHIRP_TRANSPORT = 'chirp.transport';

/**
 * The result code of a call or delivery as metrics and spans record it: 'OK', a TransportError's
 * code, or INTERNAL for anything else.
 */
export function codeOf(err: unknown): string {
  return err instanceof TransportError ? err.code : 'INTERNAL';
}

// ---- caller --------------------------------------------------------------------------

/** One call as its caller sees it: the CLIENT span, what to send with the request, and its end. */
export class ClientCall {
  readonly carrier: TraceCarrier;
  readonly #span: Span;
  readonly #transport: TransportKind;
  readonly #service: string;
  readonly #method: string;
  readonly #started: number;

  constructor(transport: TransportKind, service: string, method: string, parent: Context | undefined) {
    this.#transport = transport;
    this.#service = service;
    this.#method = method;
    const span = startSpan(`${service}/${method}`, SpanKind.CLIENT, parent ?? contexts.active());
    if (span.isRecording()) {
      span.setAttributes({
        'rpc.system': 'chirp',
        'rpc.service': service,
        'rpc.method': method,
        [CHIRP_TRANSPORT]: transport,
      });
    }
    this.#span = span;
    this.carrier = carrierOf(span);
    this.#started = callObserver() === undefined ? 0 : performance.now();
  }

  get traceId(): string {
    return traceIdOf(this.carrier);
  }

  /** Which replica the transport picked and how many bytes the request took, for the span. */
  sent(address: string, bytes: number): void {
    if (!this.#span.isRecording()) return;
    this.#span.setAttributes({ 'server.address': address, 'chirp.request.size': bytes });
  }

  /** A call that failed before anything was sent (too big, nowhere to send it): ended, and `err` as a rejection. */
  fail(err: unknown): Promise<never> {
    this.end(codeOf(err));
    return Promise.reject(err as Error);
  }

  /** The call is over, with this result code: the span ends and the call is counted. */
  end(code: string): void {
    endSpan(this.#span, code);
    callObserver()?.call('client', this.#transport, this.#service, this.#method, code, this.#started);
  }
}

// ---- server --------------------------------------------------------------------------

/** What a transport knows about a request it received, before any handler runs. */
export interface Incoming {
  transport: TransportKind;
  service: string;
  method: string;
  trace: TraceCarrier | undefined;
  /** The caller's address, where the transport knows it. */
  peer?: string;
  /** The request's size on the wire. */
  bytes?: number;
}

/** One call as its server sees it: the SERVER span (a child of the caller's) and its end. */
export class ServerCall {
  /** The context the handler runs in: its span is the call's SERVER span. */
  readonly context: Context;
  readonly traceId: string;
  readonly #span: Span;
  readonly #incoming: Incoming;
  readonly #started: number;

  constructor(incoming: Incoming) {
    this.#incoming = incoming;
    const parent = extract(incoming.trace);
    const span = startSpan(`${incoming.service}/${incoming.method}`, SpanKind.SERVER, parent, true);
    if (span.isRecording()) {
      span.setAttributes({
        'rpc.system': 'chirp',
        'rpc.service': incoming.service,
        'rpc.method': incoming.method,
        [CHIRP_TRANSPORT]: incoming.transport,
      });
      if (incoming.peer !== undefined) span.setAttribute('network.peer.address', incoming.peer);
      if (incoming.bytes !== undefined) span.setAttribute('chirp.request.size', incoming.bytes);
    }
    this.#span = span;
    this.context = withValidSpan(parent, span);
    this.traceId = trace.getSpanContext(this.context)!.traceId;
    this.#started = callObserver() === undefined ? 0 : performance.now();
  }

  end(code: string): void {
    endSpan(this.#span, code);
    const { transport, service, method } = this.#incoming;
    callObserver()?.call('server', transport, service, method, code, this.#started);
  }
}

// ---- events --------------------------------------------------------------------------

/** One publish: the PRODUCER span every copy of the event is a child of. */
export class PublishCall {
  readonly carrier: TraceCarrier;
  readonly #span: Span;
  readonly #what: readonly [TransportKind, string, string];

  constructor(transport: TransportKind, service: string, topic: string, parent: Context | undefined) {
    this.#what = [transport, service, topic];
    const span = startSpan(`publish ${topic}`, SpanKind.PRODUCER, parent ?? contexts.active());
    if (span.isRecording()) {
      span.setAttributes({
        'messaging.system': messagingSystem(transport),
        'messaging.operation.type': 'send',
        'messaging.destination.name': `${service}.${topic}`,
        [CHIRP_TRANSPORT]: transport,
      });
    }
    this.#span = span;
    this.carrier = carrierOf(span);
  }

  /** How many subscribers (or broker queues) the event went to, and its size, for the span. */
  sent(copies: number | undefined, bytes: number): void {
    if (!this.#span.isRecording()) return;
    this.#span.setAttribute('messaging.message.body.size', bytes);
    if (copies !== undefined) this.#span.setAttribute('messaging.batch.message_count', copies);
  }

  track(done: Promise<void>): Promise<void> {
    if (!this.#span.isRecording() && callObserver() === undefined) return done;
    return done.then(
      () => this.end('OK'),
      (err: unknown) => {
        this.end(codeOf(err));
        throw err;
      },
    );
  }

  /** For a publish that is done once it returns (the socket transports hand events to the kernel). */
  end(code: string): void {
    endSpan(this.#span, code);
    callObserver()?.event('publish', ...this.#what, code);
  }
}

/** One event received by one subscriber: the CONSUMER span its handler runs in. */
export class DeliveryCall {
  readonly context: Context;
  readonly traceId: string;
  readonly #span: Span;
  readonly #what: readonly [TransportKind, string, string];

  constructor(transport: TransportKind, service: string, topic: string, carrier: TraceCarrier | undefined) {
    this.#what = [transport, service, topic];
    const parent = extract(carrier);
    const span = startSpan(`process ${topic}`, SpanKind.CONSUMER, parent, true);
    if (span.isRecording()) {
      span.setAttributes({
        'messaging.system': messagingSystem(transport),
        'messaging.operation.type': 'process',
        'messaging.destination.name': `${service}.${topic}`,
        [CHIRP_TRANSPORT]: transport,
      });
    }
    this.#span = span;
    this.context = withValidSpan(parent, span);
    this.traceId = trace.getSpanContext(this.context)!.traceId;
  }

  end(code: string): void {
    endSpan(this.#span, code);
    callObserver()?.event('deliver', ...this.#what, code);
  }
}

// ---- the wire format -----------------------------------------------------------------

/**
 * The trace context of `span` as it travels; a span without a valid context (no SDK, no parent)
 * gets a fresh trace. Written here rather than through the W3C propagator: this runs for every
 * call, and the propagator's generic carrier handling cost a TCP call more than its framing.
 */
function carrierOf(span: Span): TraceCarrier {
  const context = span.spanContext();
  if (context.traceId === INVALID_TRACEID) return { traceparent: `00-${newTraceId()}-${newSpanId()}-00` };
  const flags = (0x100 | (context.traceFlags & 0xff)).toString(16).slice(1);
  const carrier: TraceCarrier = { traceparent: `00-${context.traceId}-${context.spanId}-${flags}` };
  const state = context.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/**
 * For work done after the call that asked for it (posts' outbox: an event published after a
 * restart): the trace of `context`'s span, to store with the work, and (traceContextOf) the
 * context to carry on from when it is done. Without a span in `context`, a fresh trace.
 */
export function traceCarrierOf(context: Context): TraceCarrier {
  return carrierOf(trace.getSpan(context) ?? NO_SPAN);
}

/** The context a stored TraceCarrier names (traceCarrierOf); ROOT (a new trace) when absent or malformed. */
export function traceContextOf(carrier: TraceCarrier | undefined): Context {
  return extract(carrier);
}

/** The usual traceparent, checked in one go: version 00, lower-case hex ids, flags. */
const VERSION_00 = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's context from what arrived (W3C rules, @opentelemetry/core's parser); ROOT (a new trace) when absent or malformed. */
function extract(carrier: TraceCarrier | undefined): Context {
  const traceparent = carrier?.traceparent;
  if (typeof traceparent !== 'string') return ROOT_CONTEXT;
  let remote: SpanContext | null;
  if (VERSION_00.test(traceparent)) {
    const traceFlags = parseInt(traceparent.slice(53), 16);
    remote = { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags, isRemote: true };
  } else {
    remote = parseTraceParent(traceparent); // other versions, surrounding whitespace: the parser knows the rules
  }
  if (remote === null || remote.traceId === INVALID_TRACEID || remote.spanId === INVALID_SPANID) return ROOT_CONTEXT;
  remote.isRemote = true;
  const state = carrier?.tracestate;
  if (typeof state === 'string' && state.length > 0) remote.traceState = new TraceState(state);
  return trace.setSpanContext(ROOT_CONTEXT, remote);
}

/**
 * `parent` with `span` as its span. Without an SDK a root span has no valid ids: a made-up
 * context (not sampled) stands in, so a trace id still travels and gets logged.
 */
function withValidSpan(parent: Context, span: Span): Context {
  const own = span.spanContext();
  // A span that records nothing and is its parent's context (no SDK, or not sampled) adds nothing to it.
  if (own === trace.getSpanContext(parent)) return parent;
  if (own.traceId !== INVALID_TRACEID) return trace.setSpan(parent, span);
  return trace.setSpanContext(parent, { traceId: newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.NONE });
}

function traceIdOf(carrier: TraceCarrier): string {
  return carrier.traceparent?.slice(3, 35) ?? '';
}

function endSpan(span: Span, code: string): void {
  if (!span.isRecording()) return;
  span.setAttribute('rpc.response.status_code', code);
  if (code !== 'OK') {
    span.setAttribute('error.type', code);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** OpenTelemetry's `messaging.system` of each transport's spans. */
const MESSAGING_SYSTEMS: Record<TransportKind, string> = {
  http: 'chirp.http',
  amqp: 'rabbitmq',
  tcp: 'chirp.tcp',
  udp: 'chirp.udp',
  nats: 'nats',
};

function messagingSystem(transport: TransportKind): string {
  return MESSAGING_SYSTEMS[transport];
}
