/**
 * Spans to an OTLP/HTTP endpoint (JSON, `POST <url>`), batched as the SDK's BatchSpanProcessor
 * batches them and configured by the same variables, but spans are serialized within 20 ms of
 * ending and wait for their batch as bytes, outside the JavaScript heap.
 *
 * Why not the SDK's BatchSpanProcessor and OTLPTraceExporter: they keep every span object until
 * its batch leaves (up to OTEL_BSP_SCHEDULE_DELAY, 5 s by default), long enough for the garbage
 * collector to move it to the old generation, where it is marked again until it dies. Measured at
 * 64 small TCP calls in flight, 1 in 100 traced, caller and server in two processes: exporting
 * through them cost 26% of the throughput, this way 19% (6 rounds, interleaved). The bytes are
 * made by the SDK's own serializer (@opentelemetry/otlp-transformer), for the spans that ended in
 * the last 20 ms (at most 128) at once: serializing a span on its own cost 20 µs, mostly the
 * resource's conversion, against 4 µs each in a group of 20. A batch is those requests'
 * `resourceSpans` entries in one list, which is what a collector receives from any exporter that
 * does not merge resources.
 *
 *   OTEL_BSP_SCHEDULE_DELAY           ms between batches (default 5000)
 *   OTEL_BSP_MAX_EXPORT_BATCH_SIZE    a batch leaves early once it holds this many spans (512)
 *   OTEL_BSP_MAX_QUEUE_SIZE           spans waiting at most; beyond, new ones are dropped (2048)
 *   OTEL_EXPORTER_OTLP(_TRACES)_HEADERS   `key=value,…` sent with every batch
 *   OTEL_EXPORTER_OTLP(_TRACES)_TIMEOUT   ms a batch may take (default 10000)
 *   OTEL_EXPORTER_OTLP(_TRACES)_COMPRESSION   gzip, or none (the default)
 *
 * One batch is in flight at a time; a batch the endpoint refuses with 429, 502, 503 or 504, or
 * that cannot reach it, is tried again twice (after 1 and 2 s), then dropped with a warning.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

type Env = Record<string, string | undefined>;

/** What one span's request starts and ends with; a batch keeps what is between. */
const OPEN = Buffer.from('{"resourceSpans":[');
const CLOSE = Buffer.from(']}');
/**
 * Room for the waiting spans' bytes, grown as they come (a span is about 1 KiB), up to 4 KiB per
 * span of OTEL_BSP_MAX_QUEUE_SIZE and never past 64 MiB: spans that would not fit are dropped
 * like those past the queue. Not all of it at once: V8 counts memory outside the heap as given
 * back long after it is, and a process that starts telemetry again and again (the benchmark's
 * load generator) would have its garbage collector run for "external memory pressure".
 */
const FIRST_WAITING_BYTES = 64 * 1024;
const BYTES_PER_SPAN = 4096;
const MAX_WAITING_BYTES = 64 * 1024 * 1024;
/** Ended spans are serialized together once this many wait, or this long after the first. */
const SERIALIZE_AT = 128;
const SERIALIZE_AFTER_MS = 20;
const RETRYABLE = new Set([429, 502, 503, 504]);
const BACKOFF_MS = [1_000, 2_000];
/**
 * gzip's fastest level: a batch of 512 spans (400 KB of JSON) takes 1.5 ms and leaves 32 KB, against
 * 3.3 ms and 30 KB at the default level. Done on libuv's thread pool, not the event loop.
 */
const GZIP_LEVEL = 1;
const gzipped = promisify(gzip);

export class OtlpExport implements SpanProcessor {
  readonly #url: URL;
  readonly #client: typeof http | typeof https;
  /** Keeps the connection between batches; an idle one does not keep the process running. */
  readonly #agent: http.Agent;
  readonly #headers: Record<string, string>;
  readonly #delayMs: number;
  readonly #batchSize: number;
  readonly #queueSize: number;
  readonly #timeoutMs: number;
  readonly #gzip: boolean;
  /** The waiting spans: their `resourceSpans` entries, comma-separated. */
  #waiting = Buffer.allocUnsafe(FIRST_WAITING_BYTES);
  readonly #maxWaitingBytes: number;
  #bytes = 0;
  #spans = 0;
  /** Spans ended but not yet serialized. */
  #ended: ReadableSpan[] = [];
  #serializeTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #dropped = 0;

  constructor(url: string, env: Env) {
    this.#url = httpUrl(url);
    this.#client = this.#url.protocol === 'https:' ? https : http;
    this.#agent = new this.#client.Agent({ keepAlive: true, maxSockets: 1 });
    this.#gzip = compressionFrom(env) === 'gzip';
    this.#headers = {
      'content-type': 'application/json',
      ...(this.#gzip && { 'content-encoding': 'gzip' }),
      ...headersFrom(env),
    };
    this.#delayMs = positive(env.OTEL_BSP_SCHEDULE_DELAY, 5_000);
    this.#queueSize = positive(env.OTEL_BSP_MAX_QUEUE_SIZE, 2_048);
    this.#batchSize = Math.min(positive(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512), this.#queueSize);
    this.#timeoutMs = positive(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT, 10_000);
    this.#maxWaitingBytes = Math.min(this.#queueSize * BYTES_PER_SPAN, MAX_WAITING_BYTES);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#spans + this.#ended.length >= this.#queueSize) {
      this.#dropped++;
      return;
    }
    this.#ended.push(span);
    // A batch's worth waiting is serialized at once, so that the batch leaves now.
    const enough = this.#ended.length >= SERIALIZE_AT || this.#spans + this.#ended.length >= this.#batchSize;
    if (enough) this.#serializeEnded();
    else this.#serializeTimer ??= setTimeout(() => this.#serializeEnded(), SERIALIZE_AFTER_MS).unref();
  }

  /** The spans that ended since the last time, as one request's `resourceSpans` entries, join the waiting ones. */
  #serializeEnded(): void {
    clearTimeout(this.#serializeTimer);
    this.#serializeTimer = undefined;
    const ended = this.#ended;
    if (ended.length === 0) return;
    this.#ended = [];
    const request = JsonTraceSerializer.serializeRequest(ended);
    if (request === undefined || !framed(request)) return;
    const entries = request.subarray(OPEN.length, request.length - CLOSE.length);
    const needed = this.#bytes + 1 + entries.length;
    if (needed > this.#maxWaitingBytes) {
      this.#dropped += ended.length;
      return;
    }
    if (needed > this.#waiting.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(needed, 2 * this.#waiting.length), this.#maxWaitingBytes));
      this.#waiting.copy(grown, 0, 0, this.#bytes);
      this.#waiting = grown;
    }
    if (this.#spans > 0) this.#waiting[this.#bytes++] = 0x2c; // ','
    this.#waiting.set(entries, this.#bytes);
    this.#bytes += entries.length;
    this.#spans += ended.length;
    this.#schedule();
  }

  /** Send what waits now, and wait until every batch has left (or been given up on). */
  async forceFlush(): Promise<void> {
    this.#serializeEnded();
    while (this.#sending !== undefined || this.#spans > 0) {
      this.#sendWaiting();
      await this.#sending;
    }
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    clearTimeout(this.#timer);
    clearTimeout(this.#serializeTimer);
    this.#agent.destroy();
  }

  /** Start sending the waiting spans, unless a batch is in flight (then they go when it is done). */
  #sendWaiting(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#sending !== undefined || this.#spans === 0) return;
    const body = Buffer.concat([OPEN, this.#waiting.subarray(0, this.#bytes), CLOSE]);
    const spans = this.#spans;
    this.#bytes = 0;
    this.#spans = 0;
    this.#sending = this.#send(body, spans).finally(() => {
      this.#sending = undefined;
      if (this.#spans > 0) this.#schedule();
    });
  }

  /** Spans wait: send them now if they make a batch, else once the delay has passed. */
  #schedule(): void {
    if (this.#spans >= this.#batchSize) this.#sendWaiting();
    else this.#timer ??= setTimeout(() => this.#sendWaiting(), this.#delayMs).unref();
  }

  async #send(json: Buffer, spans: number): Promise<void> {
    const body = this.#gzip ? await gzipped(json, { level: GZIP_LEVEL }) : json;
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      try {
        const status = await this.#post(body);
        if (status >= 200 && status < 300) break;
        failure = `HTTP ${status}`;
        if (!RETRYABLE.has(status)) attempt = BACKOFF_MS.length;
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= BACKOFF_MS.length) {
        this.#dropped += spans;
        break;
      }
      diag.debug(`OTLP export to ${this.#url.href} failed (${failure}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS[attempt]).unref());
    }
    if (this.#dropped > 0) {
      diag.warn(`OTLP export to ${this.#url.href}: ${this.#dropped} spans dropped (endpoint failing or queue full)`);
      this.#dropped = 0;
    }
  }

  /**
   * One POST, answered with its status. node:http rather than fetch: a batch is hundreds of
   * kilobytes, and fetch took ten times the CPU to send one (9 ms against 0.7).
   */
  #post(body: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const headers = { ...this.#headers, 'content-length': String(body.length) };
      const request = this.#client.request(this.#url, {
        method: 'POST',
        headers,
        agent: this.#agent,
        timeout: this.#timeoutMs,
      });
      request.on('response', (response) => {
        response.on('end', () => resolve(response.statusCode ?? 0)).on('error', reject);
        response.resume();
      });
      request.on('timeout', () => request.destroy(new Error(`no answer in ${this.#timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

function httpUrl(url: string): URL {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new Error(`OTLP traces endpoint: not an http(s) URL: ${url}`);
  }
  return parsed;
}

function framed(request: Uint8Array): boolean {
  return (
    request.length > OPEN.length + CLOSE.length &&
    OPEN.equals(request.subarray(0, OPEN.length)) &&
    CLOSE.equals(request.subarray(request.length - CLOSE.length))
  );
}

function positive(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return value !== undefined && Number.isInteger(number) && number > 0 ? number : fallback;
}

/** OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, or else OTEL_EXPORTER_OTLP_COMPRESSION: gzip or none. */
function compressionFrom(env: Env): 'gzip' | 'none' {
  const name =
    env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'
      : 'OTEL_EXPORTER_OTLP_COMPRESSION';
  const value = env[name]?.trim().toLowerCase() || 'none';
  if (value !== 'gzip' && value !== 'none') throw new Error(`${name}=${env[name]} is not one of gzip, none`);
  return value;
}

/** OTEL_EXPORTER_OTLP_TRACES_HEADERS, or else OTEL_EXPORTER_OTLP_HEADERS. */
function headersFrom(env: Env): Record<string, string> {
  const listed = keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS);
  return Object.fromEntries(Object.entries(listed).map(([name, value]) => [name.toLowerCase(), value]));
}

/** OpenTelemetry's `key=value,…` lists (headers, resource attributes), values percent-encoded. */
export function keyValues(list: string | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const pair of (list ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      values[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed value is skipped, as the specification asks
    }
  }
  return values;
}
