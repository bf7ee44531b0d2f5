/**
 * Closed loop: `concurrency` callers, each sending its next call as soon as the previous
 * one is answered. Throughput is what the target sustains with that many calls in flight.
 *
 *   |-- warm-up --|------------ measured window ------------|
 *   calls started in the window → latency histogram (or the error count);
 *   calls answered in the window → throughput.
 *
 * Nothing from the warm-up (JIT, connection set-up, pool growth) reaches a figure. CPU of
 * the load generator and of the server is read at both edges of the window.
 */
import { performance } from 'node:perf_hooks';
import { cpuPerCall, cpuPercent } from '../process/messages.js';
import { ByKind } from './by-kind.js';
import { LatencyRecorder } from './latency.js';
import { errorCode, readBoth, type CpuSource, type RequestSource, type RunFigures } from './run.js';

export interface ClosedLoopOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Also break the figures down by kind of call (a request mix). */
  byKind?: boolean;
}

export async function closedLoop(
  next: RequestSource,
  server: CpuSource,
  options: ClosedLoopOptions,
): Promise<RunFigures> {
  const { concurrency, warmupMs, durationMs } = options;
  const recorder = new LatencyRecorder();
  const kinds = options.byKind ? new ByKind() : undefined;
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let answeredInWindow = 0;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;

  const worker = async (): Promise<void> => {
    for (;;) {
      const request = next();
      const sent = performance.now();
      if (sent >= windowEnd) return;
      let ok = true;
      try {
        await request.send();
      } catch (err) {
        ok = false;
        if (sent >= windowStart) {
          errors++;
          const code = errorCode(err);
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          kinds?.fail(request.kind, code);
        }
      }
      const answered = performance.now();
      if (ok && sent >= windowStart) {
        recorder.record(answered - sent);
        kinds?.record(request.kind, answered - sent);
      }
      if (ok && answered >= windowStart && answered < windowEnd) answeredInWindow++;
    }
  };

  const cpuAt = (at: number): Promise<ReturnType<typeof readBoth>> =>
    new Promise((resolve) => setTimeout(() => resolve(readBoth(server)), Math.max(0, at - performance.now())));
  const [cpuFrom, cpuTo] = [cpuAt(windowStart), cpuAt(windowEnd)];
  await Promise.all(Array.from({ length: concurrency }, worker));
  const [from, to] = await Promise.all([cpuFrom, cpuTo]);
  const latency = recorder.summary();
  recorder.destroy();
  const [serverFrom, serverTo] = [await from.server, await to.server];
  return {
    throughput: answeredInWindow / (durationMs / 1000),
    ...latency,
    errors,
    errorCodes,
    clientCpu: cpuPercent(from.client, to.client),
    serverCpu: cpuPercent(serverFrom, serverTo),
    clientCpuPerCall: cpuPerCall(from.client, to.client, answeredInWindow),
    serverCpuPerCall: cpuPerCall(serverFrom, serverTo, answeredInWindow),
    ...(kinds === undefined ? {} : { byKind: kinds.summary(durationMs) }),
  };
}
