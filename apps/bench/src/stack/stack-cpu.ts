/**
 * The stack's CPU over a measured window, for the loops (load/*.ts), which read their
 * "server" CPU exactly twice per run — at the window's start and end. Here the server is every
 * process of the stack: the loops get the sum, and each reading's per-process parts are kept,
 * so the window's CPU of each service and of the web app can be told apart afterwards.
 */
import { cpuPercent, type CpuReading } from '../process/messages.js';
import type { CpuSource } from '../load/run.js';
import type { Stack, StackProcessName } from './stack.js';

export interface StackCpuWindow {
  /** What the loop reads: the stack's total. */
  source: CpuSource;
  /** Each process's CPU (% of one core) between the first and last reading since the last take; then forgets them. */
  take(): Partial<Record<StackProcessName, number>>;
}

export function stackCpuWindow(stack: Stack): StackCpuWindow {
  let readings: Partial<Record<StackProcessName, CpuReading>>[] = [];
  return {
    source: {
      cpu: async () => {
        const parts = stack.cpu();
        readings.push(parts);
        const all = Object.values(parts);
        return {
          userUs: all.reduce((sum, r) => sum + r.userUs, 0),
          systemUs: all.reduce((sum, r) => sum + r.systemUs, 0),
          atMs: Math.max(0, ...all.map((r) => r.atMs)),
        };
      },
    },
    take() {
      const [first, last] = [readings[0], readings[readings.length - 1]];
      readings = [];
      const percents: Partial<Record<StackProcessName, number>> = {};
      if (first === undefined || last === undefined || first === last) return percents;
      for (const name of Object.keys(last) as StackProcessName[]) {
        const from = first[name];
        if (from !== undefined) percents[name] = cpuPercent(from, last[name]!);
      }
      return percents;
    },
  };
}
