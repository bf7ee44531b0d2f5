/**
 * What the workloads that run on the whole application (social, notify) share: the transports
 * they cover (every one, and mixed), and a stack started for one of them with the run's
 * settings, handed to `work`, and stopped afterwards whatever happened. Logs go to a fresh
 * folder under the OS's temp folder, named in any error; spans to the run's collector.
 */
import { performance } from 'node:perf_hooks';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closedLoop } from '../load/closed-loop.js';
import type { CpuSource, RequestSource } from '../load/run.js';
import type { Settings } from '../settings.js';
import { startStack, type Stack, type StackOptions, type StackTransport } from '../stack/stack.js';
import type { SuiteContext } from './workload.js';

/** Sign-up and log-in only seed these workloads; bcrypt's default cost would make seeding take minutes. */
export const BENCH_BCRYPT_COST = 4;

/**
 * Telemetry on, as a deployment runs it, but only the load generator starts traces: a request is
 * traced when it arrives with the sampled flag (load/trace-sampler.ts), and nothing else is. Spans
 * go to the run's collector in batches every half second.
 */
const TRACING_ENV = { OTEL_TRACES_SAMPLER: 'parentbased_always_off', OTEL_BSP_SCHEDULE_DELAY: '500' };

export function stackTransports(settings: Settings): StackTransport[] {
  return [...settings.transports, ...(settings.mixed ? (['mixed'] as const) : [])];
}

export async function withStack<T>(
  context: SuiteContext,
  workload: string,
  transport: StackTransport,
  work: (stack: Stack) => Promise<T>,
  /** A workload's own needs: a proxy in front of a service, no web app, PGlite, more environment (which wins). */
  more: Pick<StackOptions, 'front' | 'web' | 'database'> & { env?: Record<string, string> } = {},
): Promise<T> {
  const { env: moreEnv, ...options } = more;
  const { settings, progress } = context;
  const logDir = await mkdtemp(path.join(os.tmpdir(), `chirp-bench-${workload}-${transport}-`));
  // A workload that sets its own endpoint (embedded: none, as npm start) needs no collector.
  const endpoint = moreEnv?.OTEL_EXPORTER_OTLP_ENDPOINT ?? (await context.collector()).endpoint;
  const start = () =>
    startStack({
      transport,
      amqpUrl: settings.amqpUrl,
      postgresUrl: settings.postgresUrl,
      logDir,
      env: {
        AUTH_BCRYPT_COST: String(BENCH_BCRYPT_COST),
        ...TRACING_ENV,
        ...moreEnv,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      },
      onDeath: (message) => progress.line(`${workload} ${transport}: ${message}`),
      ...(context.profileDir !== undefined && {
        profileDir: path.join(context.profileDir, `${workload}-${transport}`),
      }),
      ...options,
    });
  const started = performance.now();
  // A stack that fails to start (a process that hangs or dies on its way up) is stopped whole by
  // startStack; one more try keeps a rare hang from costing the section, and the line says why.
  const stack = await start().catch((err: unknown) => {
    progress.line(`${workload} ${transport}: the stack did not start, trying once more: ${(err as Error).message}`);
    return start();
  });
  progress.line(
    `${workload} ${transport.padEnd(7)} stack up in ${((performance.now() - started) / 1000).toFixed(1)} s (logs in ${logDir})`,
  );
  try {
    return await work(stack);
  } finally {
    await stack.stop();
  }
}

/**
 * Unmeasured load on a freshly seeded stack before its first measured run. Seeding goes through
 * the services' clients, and the stack's throughput still climbs for ten seconds or so after it
 * (measured through the web API: 377 → 563 → 841 requests/s over three 1.5 s runs after a 2 s
 * warm-up), which would otherwise land in the first figures.
 */
export async function warmUp(
  mix: RequestSource,
  cpu: CpuSource,
  concurrency: number,
  settings: Settings,
): Promise<void> {
  await closedLoop(mix, cpu, { concurrency, warmupMs: 0, durationMs: settings.quick ? 2_000 : 10_000 });
}
