import { describe, expect, it } from 'vitest';
import { cpuMsPerRequest } from '../workloads/embedded.js';
import { cpuMicros, type CpuReading } from './messages.js';

describe('cpuMicros', () => {
  it('reads exactly 0 for a process that used no CPU between two readings, not a rounding residue below it', () => {
    // Readings summed from /proc clock ticks are fractions of µs: (user + system) − user − system
    // is −1.8e-12 here, and a report that checks "no process used negative CPU" failed on it.
    const reading: CpuReading = { userUs: 33333.333333333336, systemUs: 10000.000000000002, atMs: 0 };
    expect(cpuMicros(reading, { ...reading, atMs: 1000 })).toBe(0);
  });

  it('adds user and system time', () => {
    const from: CpuReading = { userUs: 1000, systemUs: 500, atMs: 0 };
    expect(cpuMicros(from, { userUs: 1750, systemUs: 800, atMs: 1000 })).toBe(1050);
  });

  it("gives npm start's figures a process idle during the measurement as 0 ms per request, never below", () => {
    const idle: CpuReading = { userUs: 33333.333333333336, systemUs: 10000.000000000002, atMs: 0 };
    const busy: CpuReading = { userUs: 1000, systemUs: 0, atMs: 0 };
    const perRequest = cpuMsPerRequest(
      { auth: idle, posts: busy },
      { auth: { ...idle, atMs: 1000 }, posts: { userUs: 3000, systemUs: 0, atMs: 1000 } },
      ['auth', 'posts'],
      2,
    );
    expect(perRequest).toEqual({ auth: 0, posts: 1 });
  });
});
