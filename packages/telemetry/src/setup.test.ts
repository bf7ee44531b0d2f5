import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { startTelemetry } from './setup.js';

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
});
