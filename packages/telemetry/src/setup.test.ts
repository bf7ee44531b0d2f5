import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ROOT_CONTEXT, SamplingDecision, context, createContextKey } from '@opentelemetry/api';
import { newTraceId } from '@chirp/transport';
import { describe, expect, it } from 'vitest';
import { TraceIdRatio, samplerFromEnv, startTelemetry } from './setup.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Memory outside the JavaScript heap, as V8 counts it after a full collection. */
function externalBytes(): number {
  gc();
  return process.memoryUsage().external;
}

describe('startTelemetry', () => {
  it('can be turned off and on again and again without piling up memory outside the heap', async () => {
    const env = {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.01',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // nothing is traced, so nothing is sent
    };
    await startTelemetry({ service: 'load', env }).stop();
    const before = externalBytes();
    for (let i = 0; i < 30; i++) await startTelemetry({ service: 'load', env }).stop();
    // A span store (8 MiB) and an export buffer (8 MiB) each time: tens of MB more, and the garbage collector
    // running for "external memory pressure" on every call after.
    expect(externalBytes() - before).toBeLessThan(4 * 1024 * 1024);
  });

  it("runs a service's code in its context only until it awaits, unless asked for AsyncLocalStorage (the web app)", async () => {
    const key = createContextKey('call');
    const call = ROOT_CONTEXT.setValue(key, 'a call');
    /** What is active in `call` synchronously, and after an await. */
    const seen = () =>
      context.with(call, async () => {
        const before = context.active();
        await new Promise((resolve) => setImmediate(resolve));
        return [before.getValue(key), context.active().getValue(key)];
      });

    const service = startTelemetry({ service: 'scoped', env: {} });
    // No async hooks: what runs after an await is on its own, and the services hand their context on.
    expect(await seen()).toEqual(['a call', undefined]);
    await service.stop();

    const web = startTelemetry({ service: 'web', env: {}, asyncContext: true });
    expect(await seen()).toEqual(['a call', 'a call']);
    await web.stop();
  });

  it('records about the share of new traces OTEL_TRACES_SAMPLER_ARG asks for, none at 0, all at 1', () => {
    const ids = Array.from({ length: 20_000 }, newTraceId);
    const share = (ratio: number) =>
      ids.filter(
        (id) => new TraceIdRatio(ratio).shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED,
      ).length / ids.length;
    expect(share(0)).toBe(0);
    expect(share(1)).toBe(1);
    expect(share(0.01)).toBeGreaterThan(0.007);
    expect(share(0.01)).toBeLessThan(0.013);
    expect(share(0.5)).toBeGreaterThan(0.48);
    expect(share(0.5)).toBeLessThan(0.52);
    expect(String(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }))).toBe(
      'TraceIdRatio{0.25}',
    );
  });
});
