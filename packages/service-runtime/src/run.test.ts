import net from 'node:net';
import { trace } from '@opentelemetry/api';
import type { SpanRecord } from '@chirp/telemetry';
import { testConfig } from '@chirp/transport/testing';
import { upstream } from '@chirp/transport/testing/spans';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from './config.js';
import { runService, type RunningService } from './run.js';

const quiet = pino({ level: 'silent' });
let running: RunningService | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function config(): RuntimeConfig {
  const transport = testConfig('tcp');
  transport.services.follows = { listen: '127.0.0.1:0', addresses: [] };
  return { service: 'follows', logLevel: 'silent', admin: { host: '127.0.0.1', port: 0 }, transport };
}

describe('service runtime', () => {
  it('answers health, readiness, metrics and its recent traces on the admin port', async () => {
    const cfg = config();
    let closed = false;
    let served = '';
    running = await runService(
      cfg,
      async (rt) => {
        const listener = await rt.serve({ ping: () => 'pong' });
        served = listener.address;
        cfg.transport.services.follows = { listen: listener.address, addresses: [listener.address] };
        return { close: async () => void (closed = true), counters: () => ({ pings_waiting: 3 }) };
      },
      { logger: quiet },
    );
    const base = `http://${running.adminAddress}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok', service: 'follows' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, transport: 'tcp' });

    const parent = upstream();
    expect(await running.runtime.transport.request('follows', 'ping', {}, { parent })).toBe('pong');
    await running.runtime.transport.request('follows', 'nope', {}).catch(() => undefined);
    // A stranger announcing a 1 MiB first frame is hung up on (tcp/limits.ts) and counted for /metrics.
    await new Promise<void>((resolve) => {
      const port = Number(served.slice(served.lastIndexOf(':') + 1));
      const stranger = net.connect(port, '127.0.0.1', () => stranger.write(Buffer.from([0, 16, 0, 0])));
      // The server counts the refusal before it answers with an error frame and hangs up.
      const done = () => void (stranger.destroy(), resolve());
      stranger
        .on('data', done)
        .on('end', done)
        .on('close', done)
        .on('error', () => {});
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('chirp_transport_tcp_oversized_first_frame_total{service="follows"} 1');
    expect(metrics).toMatch(/^chirp_transport_tcp_open\{service="follows"\} [1-9]/m);
    const call = { service: 'follows', rpc_service: 'follows', method: 'ping', transport: 'tcp', code: 'OK' };
    expect(sample(metrics, 'chirp_rpc_server_duration_seconds_count', call)).toBe(1);
    expect(sample(metrics, 'chirp_rpc_client_duration_seconds_count', call)).toBe(1);
    expect(sample(metrics, 'chirp_rpc_server_duration_seconds_bucket', { ...call, le: '+Inf' })).toBe(1);
    const refused = { ...call, method: 'nope', code: 'UNIMPLEMENTED' };
    expect(sample(metrics, 'chirp_rpc_server_duration_seconds_count', refused)).toBe(1);
    expect(metrics).toContain('chirp_pings_waiting{service="follows"} 3');
    expect(metrics).toMatch(/^process_resident_memory_bytes\{service="follows"\} [1-9]\d+$/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds\{service="follows"\} /m);

    const traceId = trace.getSpanContext(parent)!.traceId;
    const traces = (await (await fetch(`${base}/traces?ids=${traceId}`)).json()) as { spans: SpanRecord[] };
    expect(traces.spans.map((s) => [s.name, s.kind]).sort()).toEqual([
      ['follows/ping', 'client'],
      ['follows/ping', 'server'],
    ]);
    expect((await fetch(`${base}/traces?ids=not-an-id`)).status).toBe(400);

    await running.stop();
    expect(closed).toBe(true);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    running = undefined;
  });

  it('finishes a request in flight before it stops', async () => {
    const cfg = config();
    running = await runService(
      cfg,
      async (rt) => {
        const listener = await rt.serve({ slow: () => new Promise((r) => setTimeout(() => r('finished'), 300)) });
        cfg.transport.services.follows = { listen: listener.address, addresses: [listener.address] };
        return { close: async () => {} };
      },
      { logger: quiet },
    );
    const { createTransport } = await import('@chirp/transport');
    const caller = createTransport(cfg.transport);
    const inFlight = caller.request('follows', 'slow', {});
    await new Promise((r) => setTimeout(r, 50));
    const stopped = running.stop();
    expect(await inFlight).toBe('finished');
    await stopped;
    running = undefined;
    await caller.close();
  });

  it('on stop, drains after the last call has finished and before it closes', async () => {
    const cfg = config();
    const steps: string[] = [];
    running = await runService(
      cfg,
      async (rt) => {
        const listener = await rt.serve({
          slow: () => new Promise((r) => setTimeout(() => r(steps.push('last call finished')), 300)),
        });
        cfg.transport.services.follows = { listen: listener.address, addresses: [listener.address] };
        return {
          drain: async () => void steps.push('drain'),
          close: async () => void steps.push('close'),
        };
      },
      { logger: quiet },
    );
    const { createTransport } = await import('@chirp/transport');
    const caller = createTransport(cfg.transport);
    const inFlight = caller.request('follows', 'slow', {});
    await new Promise((r) => setTimeout(r, 50));
    await running.stop();
    running = undefined;
    await inFlight;
    await caller.close();
    expect(steps).toEqual(['last call finished', 'drain', 'close']);
  });
});

/** The value of the sample of `name` with exactly these labels (in any order) in Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) {
      return Number(match[3]);
    }
  }
  return undefined;
}
