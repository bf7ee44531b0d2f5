/**
 * What the load generator itself costs per call: the closed loop driving a caller that
 * answers on the next turn of the event loop, as a reply from a socket would. Measured at
 * the start of every run, so a reader can tell how much of the load generator's CPU per
 * call was the harness and how much the client library under test.
 */
import { readCpu } from '../process/messages.js';
import type { Caller } from '../targets/target.js';
import { closedLoop } from './closed-loop.js';
import { fixedRequest } from './run.js';

export interface HarnessCost {
  /** CPU µs the harness spends per call (issue, time, record, loop). */
  cpuPerCallUs: number;
  /** Calls per second it reached against the instant caller. */
  callsPerSecond: number;
}

export async function measureHarness(): Promise<HarnessCost> {
  const instant: Caller = {
    call: () => new Promise((resolve) => setImmediate(resolve)),
    close: async () => {},
  };
  const figures = await closedLoop(
    fixedRequest(instant, 'echo', null),
    { cpu: async () => readCpu() },
    { concurrency: 64, warmupMs: 200, durationMs: 500 },
  );
  return { cpuPerCallUs: figures.clientCpuPerCall, callsPerSecond: figures.throughput };
}
