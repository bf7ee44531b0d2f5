/**
 * A small OTLP/HTTP receiver (JSON encoding, `POST /v1/traces`), for what would otherwise need a
 * Jaeger or a collector: the tests that check what the processes export, and the benchmark,
 * which reads each request's spans to say where its time went. Keeps every span as a SpanRecord.
 * Not a collector: no protobuf, no retries asked for; gzip bodies (Content-Encoding) are read, and
 * a body it cannot read is 400.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { SpanRecord } from './span-store.js';

export interface OtlpReceiver {
  /** What to set OTEL_EXPORTER_OTLP_ENDPOINT to. */
  endpoint: string;
  /** The spans received so far (the newest `maxSpans`), in arrival order. */
  spans(): SpanRecord[];
  /** Every span received, kept or not. */
  readonly received: number;
  /** Forget what was received (e.g. between two benchmark phases). */
  clear(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const gunzipped = promisify(gunzip);
const KINDS: SpanRecord['kind'][] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];

export interface ReceiverOptions {
  host?: string;
  /** Default: any free port. */
  port?: number;
  /** Keep at most about this many spans, the newest (default: all). */
  maxSpans?: number;
}

export async function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const maxSpans = options.maxSpans ?? Infinity;
  let kept: SpanRecord[] = [];
  let received = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', async () => {
      try {
        if (bytes > MAX_BODY_BYTES) throw new Error('too large');
        const body = Buffer.concat(chunks);
        const json =
          req.headers['content-encoding'] === 'gzip'
            ? await gunzipped(body, { maxOutputLength: MAX_BODY_BYTES })
            : body;
        const spans = spansOf(JSON.parse(json.toString('utf8')) as ExportRequest);
        received += spans.length;
        kept.push(...spans);
        if (kept.length > maxSpans) kept = kept.slice(kept.length - Math.floor(maxSpans / 2)); // amortised: drop the older half
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    spans: () => kept,
    get received() {
      return received;
    },
    clear: () => void (kept = []),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// ---- OTLP/JSON, the parts read here (opentelemetry-proto, trace/v1/trace.proto) ---------------

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KeyValue[];
  status?: { code?: number };
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

function spansOf(request: ExportRequest): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const startNs = BigInt(span.startTimeUnixNano);
        const record: SpanRecord = {
          traceId: span.traceId,
          spanId: span.spanId,
          name: span.name,
          kind: KINDS[span.kind ?? 0] ?? 'internal',
          process: String(resource['service.name'] ?? 'unknown'),
          startMs: Number(startNs / 1000n) / 1e3,
          durationMs: Number(BigInt(span.endTimeUnixNano) - startNs) / 1e6,
          error: span.status?.code === 2,
          attributes: attributesOf(span.attributes),
        };
        if (span.parentSpanId) record.parentId = span.parentSpanId;
        out.push(record);
      }
    }
  }
  return out;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value?.stringValue !== undefined) out[key] = value.stringValue;
    else if (value?.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value?.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value?.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}
