/**
 * What a soak watches in each process, read from Linux's /proc without asking the process:
 * resident memory (VmRSS of /proc/<pid>/status, summed over the process and every process
 * under it, as `next start` may run its server in a child) and open file descriptors
 * (entries of /proc/<pid>/fd, same tree). And the least-squares slope that turns a series of
 * memory samples into MiB per minute: a steady climb after warm-up is a leak; a sawtooth
 * around a level (the garbage collector at work) fits a slope near 0.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcSample {
  rssBytes: number;
  fds: number;
}

/** The process tree's memory and descriptors now; undefined if the process is gone. */
export function sampleTree(pid: number): ProcSample | undefined {
  const pids = tree(pid);
  if (pids.length === 0) return undefined;
  let rssBytes = 0;
  let fds = 0;
  for (const p of pids) {
    try {
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1];
      rssBytes += Number(kib ?? 0) * 1024;
      fds += readdirSync(`/proc/${p}/fd`).length;
    } catch {
      // exited between the listing and the read
    }
  }
  return { rssBytes, fds };
}

/** `pid` and its descendants, from each task's `children` list; empty if `pid` is gone. */
function tree(pid: number): number[] {
  const found: number[] = [];
  const visit = (p: number): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    found.push(p);
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean)) visit(Number(child));
    }
  };
  visit(pid);
  return found;
}

/** Least-squares slope of y over x, in y-units per x-unit (0 for fewer than two points). */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
