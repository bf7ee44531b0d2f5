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
import { cpuPerCall, cpuPercent } from '../process/messages.js';
import type { Caller, CallName } from '../targets/target.js';
import { LatencyRecorder } from './latency.js';
import { errorCode, readBoth, type CpuSource, type RunFigures } from './run.js';

export interface ClosedLoopOptions {
  method: CallName;
  payload: unknown;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export async function closedLoop(caller: Caller, server: CpuSource, options: ClosedLoopOptions): Promise<RunFigures> {
  const { method, payload, concurrency, warmupMs, durationMs } = options;
  const recorder = new LatencyRecorder();
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let answeredInWindow = 0;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;

  const worker = async (): Promise<void> => {
    for (;;) {
      const sent = performance.now();
      if (sent >= windowEnd) return;
      let ok = true;
      try {
        await caller.call(method, payload);
      } catch (err) {
        ok = false;
        if (sent >= windowStart) {
          errors++;
          const code = errorCode(err);
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
      }
      const answered = performance.now();
      if (ok && sent >= windowStart) recorder.record(answered - sent);
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
  };
}
