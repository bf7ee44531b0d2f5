import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ROOT_CONTEXT, diag, trace, type DiagLogger } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpExport } from './otlp-export.js';
import { startOtlpReceiver, type OtlpReceiver } from './receiver.js';

/** A tracer whose spans leave through `exporter`, as a process's do. */
function tracerInto(exporter: OtlpExport) {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'posts' }),
    spanProcessors: [exporter],
  }).getTracer('test');
}

/**
 * An OTLP endpoint that answers each POST with the next of `statuses` (then 200), keeping what it
 * got: each body (read through gzip when so encoded), its headers and its size on the wire.
 */
async function scriptedEndpoint(statuses: number[]) {
  const bodies: unknown[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const sizes: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      headers.push(req.headers);
      sizes.push(body.length);
      bodies.push(JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8')));
      res.writeHead(statuses.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, bodies, headers, sizes, close: () => server.close() };
}

/** How many spans one OTLP request holds, whatever its grouping by resource and scope. */
function spansIn(body: unknown): number {
  const { resourceSpans } = body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
  return resourceSpans.flatMap((resource) => resource.scopeSpans).reduce((sum, scope) => sum + scope.spans.length, 0);
}

/** OpenTelemetry's warnings from now on (diag is reset after each test). */
function collectWarnings(): string[] {
  const warnings: string[] = [];
  const ignore = () => {};
  const logger: DiagLogger = {
    warn: (message: string) => void warnings.push(message),
    error: ignore,
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
  diag.setLogger(logger);
  return warnings;
}

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  diag.disable();
});

describe('OTLP export', () => {
  let receiver: OtlpReceiver;

  it('sends the spans of a batch in one request, each with its parent, to a real receiver', async () => {
    receiver = await startOtlpReceiver();
    closers.push(() => receiver.close());
    const endpoint = await scriptedEndpoint([]);
    closers.push(endpoint.close);
    const exporter = new OtlpExport(`${receiver.endpoint}/v1/traces`, {});
    const counted = new OtlpExport(endpoint.url, {});
    for (const into of [exporter, counted]) {
      const tracer = tracerInto(into);
      const root = tracer.startSpan('posts/create');
      tracer.startSpan('INSERT posts', {}, trace.setSpan(ROOT_CONTEXT, root)).end();
      root.end();
    }
    await Promise.all([exporter.shutdown(), counted.shutdown()]);

    const spans = receiver.spans();
    expect(spans.map((span) => span.name)).toEqual(['INSERT posts', 'posts/create']);
    expect(spans[0]!.parentId).toBe(spans[1]!.spanId);
    expect(spans[0]).toMatchObject({ process: 'posts', traceId: spans[1]!.traceId });
    expect(endpoint.bodies.map(spansIn)).toEqual([2]);
  });

  it('sends a batch as soon as it holds OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans, without waiting for the delay', async () => {
    const endpoint = await scriptedEndpoint([]);
    closers.push(endpoint.close);
    const exporter = new OtlpExport(endpoint.url, {
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    closers.push(() => exporter.shutdown());
    const tracer = tracerInto(exporter);
    for (let i = 0; i < 3; i++) tracer.startSpan(`call ${i}`).end();
    await expect.poll(() => endpoint.bodies.length, { timeout: 5_000 }).toBe(1);
  });

  it('sends a lone span once OTEL_BSP_SCHEDULE_DELAY has passed, without a flush', async () => {
    const endpoint = await scriptedEndpoint([]);
    closers.push(endpoint.close);
    const exporter = new OtlpExport(endpoint.url, { OTEL_BSP_SCHEDULE_DELAY: '50' });
    closers.push(() => exporter.shutdown());
    tracerInto(exporter).startSpan('posts/create').end();
    await expect.poll(() => endpoint.bodies.map(spansIn), { timeout: 5_000 }).toEqual([1]);
  });

  it('tries a batch again when the endpoint is briefly unavailable (503), and sends the configured headers', async () => {
    const endpoint = await scriptedEndpoint([503]);
    closers.push(endpoint.close);
    const exporter = new OtlpExport(endpoint.url, { OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=chirp%20demo' });
    tracerInto(exporter).startSpan('posts/create').end();
    await exporter.forceFlush();
    expect(endpoint.bodies).toHaveLength(2); // refused once, then taken
    expect(endpoint.headers.map((sent) => sent['x-tenant'])).toEqual(['chirp demo', 'chirp demo']);
    await exporter.shutdown();
  });

  it('drops a batch it cannot deliver with a warning, and goes on exporting', async () => {
    const warnings = collectWarnings();
    const endpoint = await scriptedEndpoint([400]); // a request the endpoint will never take: not tried again
    closers.push(endpoint.close);
    const exporter = new OtlpExport(endpoint.url, {});
    const tracer = tracerInto(exporter);
    tracer.startSpan('rejected').end();
    await exporter.forceFlush();
    tracer.startSpan('accepted').end();
    await exporter.shutdown();
    expect(endpoint.bodies).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/1 spans dropped/);
  });

  it('drops spans past OTEL_BSP_MAX_QUEUE_SIZE while a batch is in flight, with a warning', async () => {
    const warnings = collectWarnings();
    const endpoint = await scriptedEndpoint([]);
    closers.push(endpoint.close);
    const exporter = new OtlpExport(endpoint.url, { OTEL_BSP_MAX_QUEUE_SIZE: '2', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const tracer = tracerInto(exporter);
    // The first two make a batch (never more than the queue) and leave; two more wait; the fifth finds no room.
    for (let i = 0; i < 5; i++) tracer.startSpan(`call ${i}`).end();
    await exporter.shutdown();
    expect(endpoint.bodies.map(spansIn)).toEqual([2, 2]);
    expect(warnings.join('\n')).toMatch(/1 spans dropped/);
  });

  it('gzips each batch with OTEL_EXPORTER_OTLP_COMPRESSION=gzip, and the receiver reads it', async () => {
    receiver = await startOtlpReceiver();
    closers.push(() => receiver.close());
    const endpoint = await scriptedEndpoint([]);
    closers.push(endpoint.close);
    const plain = new OtlpExport(endpoint.url, {});
    const zipped = new OtlpExport(endpoint.url, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
    const received = new OtlpExport(`${receiver.endpoint}/v1/traces`, {
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'GZIP',
    });
    for (const exporter of [plain, zipped, received]) {
      const tracer = tracerInto(exporter);
      for (let i = 0; i < 50; i++) tracer.startSpan('posts/create').end();
      await exporter.shutdown();
    }
    expect(endpoint.headers.map((sent) => sent['content-encoding'])).toEqual([undefined, 'gzip']);
    expect(endpoint.bodies.map(spansIn)).toEqual([50, 50]);
    expect(endpoint.sizes[1]).toBeLessThan(endpoint.sizes[0]! / 5);
    expect(receiver.spans().map((span) => span.name)).toEqual(Array(50).fill('posts/create'));
  });

  it('says which variable is wrong when the compression is neither gzip nor none', () => {
    const url = 'http://collector:4318/v1/traces';
    expect(() => new OtlpExport(url, { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })).toThrow(
      /^OTEL_EXPORTER_OTLP_COMPRESSION=zstd is not one of gzip, none$/,
    );
    expect(() => new OtlpExport(url, { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'br' })).toThrow(
      /^OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=br is not one of gzip, none$/,
    );
  });

  it('says which variable is wrong when the endpoint is not a URL', () => {
    expect(() => new OtlpExport('collector:4318', {})).toThrow(/not an http\(s\) URL: collector:4318/);
  });
});
