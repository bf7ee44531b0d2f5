/**
 * Open loop: calls arrive at a fixed average rate as a Poisson process (exponential gaps),
 * whether or not earlier ones were answered — as users do. Each call's latency is measured
 * from the time it was MEANT to be sent, not when the load generator got round to it: a
 * stalled target therefore shows the whole queue it built up (no coordinated omission, the
 * way wrk2 measures). The schedule is kept by a timer that sends every call that has
 * fallen due, so a late timer sends a burst and the lateness counts against the target:
 * Node's timers tick in whole milliseconds, so up to ~1 ms of every latency here is the
 * load generator's. That lateness is recorded on its own (send lag) so a reader can see it.
 *
 * A target that falls too far behind is not waited for without bound: past `maxOutstanding`
 * calls in flight, further arrivals are counted as dropped errors.
 */
import { performance } from 'node:perf_hooks';
import { cpuPerCall, cpuPercent } from '../process/messages.js';
import { ByKind } from './by-kind.js';
import { LatencyRecorder } from './latency.js';
import { errorCode, readBoth, type CpuSource, type RequestSource, type RunFigures } from './run.js';

export interface OpenLoopOptions {
  /** Average arrivals per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  maxOutstanding: number;
  /** Also break the figures down by kind of call (a request mix). */
  byKind?: boolean;
}

export interface OpenLoopFigures extends RunFigures {
  /** The arrival rate asked for. */
  rate: number;
  /** Arrivals dropped because `maxOutstanding` calls were already in flight (included in errors). */
  dropped: number;
  /** How late the load generator sent calls after their intended time (its timers tick in ms), ms. */
  sendLagP50: number;
  sendLagP99: number;
}

export async function openLoop(
  next: RequestSource,
  server: CpuSource,
  options: OpenLoopOptions,
): Promise<OpenLoopFigures> {
  const { rate, warmupMs, durationMs, maxOutstanding } = options;
  const recorder = new LatencyRecorder();
  const kinds = options.byKind ? new ByKind() : undefined;
  const lag = new LatencyRecorder();
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let dropped = 0;
  let outstanding = 0;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;
  let cpuFrom: ReturnType<typeof readBoth> | undefined;

  const fail = (kind: string, code: string, intended: number): void => {
    if (intended < windowStart) return;
    errors++;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    kinds?.fail(kind, code);
  };

  const send = (intended: number): void => {
    const request = next();
    if (outstanding >= maxOutstanding) {
      dropped += intended >= windowStart ? 1 : 0;
      return fail(request.kind, 'DROPPED', intended);
    }
    outstanding++;
    if (intended >= windowStart) lag.record(performance.now() - intended);
    const call = request.send().then(
      () => {
        if (intended < windowStart) return;
        const ms = performance.now() - intended;
        recorder.record(ms);
        kinds?.record(request.kind, ms);
      },
      (err: unknown) => fail(request.kind, errorCode(err), intended),
    );
    const tracked = call.finally(() => {
      outstanding--;
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  };

  // At low rates no arrival may fall near the window's start: read the CPU then regardless.
  const windowOpens = setTimeout(() => (cpuFrom ??= readBoth(server)), warmupMs);
  const gapMs = (): number => (-Math.log(1 - Math.random()) / rate) * 1000;
  await new Promise<void>((resolve) => {
    let next = start + gapMs();
    const tick = (): void => {
      const now = performance.now();
      if (cpuFrom === undefined && now >= windowStart) cpuFrom = readBoth(server);
      while (next <= now && next < windowEnd) {
        send(next);
        next += gapMs();
      }
      // The window lasts its full length even when no arrival falls late in it (low rates).
      if (next >= windowEnd) return void setTimeout(resolve, Math.max(0, windowEnd - performance.now()));
      setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  });
  clearTimeout(windowOpens);
  const cpuTo = readBoth(server);
  await Promise.all(inFlight);
  const latency = recorder.summary();
  const lagged = lag.summary();
  recorder.destroy();
  lag.destroy();
  const from = cpuFrom ?? cpuTo;
  const [serverFrom, serverTo] = [await from.server, await cpuTo.server];
  return {
    rate,
    throughput: latency.count / (durationMs / 1000),
    ...latency,
    errors,
    errorCodes,
    dropped,
    sendLagP50: lagged.p50,
    sendLagP99: lagged.p99,
    clientCpu: cpuPercent(from.client, cpuTo.client),
    serverCpu: cpuPercent(serverFrom, serverTo),
    clientCpuPerCall: cpuPerCall(from.client, cpuTo.client, latency.count),
    serverCpuPerCall: cpuPerCall(serverFrom, serverTo, latency.count),
    ...(kinds === undefined ? {} : { byKind: kinds.summary(durationMs) }),
  };
}
