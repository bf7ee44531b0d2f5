/**
 * CPU time of a process the benchmark started but does not control (a service, the web
 * app), or of the database and broker it uses, read from Linux's /proc: utime + stime of the process and of every process under
 * it (a server may fork workers), in the same CpuReading shape the server processes report
 * over IPC, so cpuPercent() applies to both. /proc counts in clock ticks (10 ms): read over
 * windows of a second or more. Elsewhere than Linux there is no reading (undefined).
 */
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync } from 'node:fs';
import type { CpuReading } from '../process/messages.js';

/** USER_HZ: Linux reports CPU time in these ticks per second (100 on every common build). */
const TICKS_PER_SECOND = 100;

interface Stat {
  pid: number;
  /** The executable's name, as /proc says it (at most 15 characters). */
  comm: string;
  ppid: number;
  user: number;
  system: number;
}

export function processTreeCpu(rootPid: number): CpuReading | undefined {
  const at = performance.timeOrigin + performance.now();
  const stats = allStats();
  if (!stats.some((s) => s.pid === rootPid)) return undefined;
  const inTree = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stats) {
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        grew = true;
      }
    }
  }
  return reading(
    stats.filter((s) => inTree.has(s.pid)),
    at,
  );
}

/**
 * CPU time of every process whose executable is called `comm` (PostgreSQL's server and its
 * backends, RabbitMQ's Erlang VM), whoever started them; undefined when none runs. Counts every
 * client of theirs: fair while the benchmark's stack is the only one.
 */
export function processesNamedCpu(comm: string): CpuReading | undefined {
  const at = performance.timeOrigin + performance.now();
  const named = allStats().filter((s) => s.comm === comm);
  return named.length === 0 ? undefined : reading(named, at);
}

function reading(stats: Stat[], atMs: number): CpuReading {
  const micros = (ticks: number): number => (ticks / TICKS_PER_SECOND) * 1e6;
  return {
    userUs: micros(stats.reduce((sum, s) => sum + s.user, 0)),
    systemUs: micros(stats.reduce((sum, s) => sum + s.system, 0)),
    atMs,
  };
}

function allStats(): Stat[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const stats: Stat[] = [];
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid … utime stime …": comm may hold spaces and parentheses.
      const close = text.lastIndexOf(')');
      const fields = text.slice(close + 2).split(' ');
      stats.push({
        pid: Number(pid),
        comm: text.slice(text.indexOf('(') + 1, close),
        ppid: Number(fields[1]),
        user: Number(fields[11]),
        system: Number(fields[12]),
      });
    } catch {
      // the process exited between readdir and read
    }
  }
  return stats;
}
