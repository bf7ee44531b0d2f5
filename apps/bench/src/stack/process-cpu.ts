/**
 * CPU time of a process the benchmark started but does not control (a service, `next
 * start`), read from Linux's /proc: utime + stime of the process and of every process under
 * it (a server may fork workers), in the same CpuReading shape the server processes report
 * over IPC, so cpuPercent() applies to both. /proc counts in clock ticks (10 ms): read over
 * windows of a second or more. Elsewhere than Linux there is no reading (undefined).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { CpuReading } from '../process/messages.js';

/** USER_HZ: Linux reports CPU time in these ticks per second (100 on every common build). */
const TICKS_PER_SECOND = 100;

interface Stat {
  pid: number;
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
  const tree = stats.filter((s) => inTree.has(s.pid));
  const micros = (ticks: number): number => (ticks / TICKS_PER_SECOND) * 1e6;
  return {
    userUs: micros(tree.reduce((sum, s) => sum + s.user, 0)),
    systemUs: micros(tree.reduce((sum, s) => sum + s.system, 0)),
    atMs: at,
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
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(pid), ppid: Number(fields[1]), user: Number(fields[11]), system: Number(fields[12]) });
    } catch {
      // the process exited between readdir and read
    }
  }
  return stats;
}
