/**
 * What each profiled process spent its CPU on, in words: `--profile` leaves one `.cpuprofile`
 * per process (open it in Chrome DevTools or speedscope for the flame graph); this reads them all
 * and writes `profiles/summary.md` — per process, the busy time, where it went by area (the
 * package or Chirp workspace the code lives in, Node's internals, the garbage collector) and the
 * functions with the most self time. Idle time is left out of every share.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const TOP = 12;

/** Where a frame's code lives: `pg`, `next`, `chirp transport`, `node internals`, `(garbage collector)`. */
export function areaOf({ functionName, url }: CallFrame): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url); // the innermost node_modules
  if (pkg) return pkg[1]!;
  const workspace = /\/(packages|services|apps)\/([^/]+)\//.exec(url);
  return workspace ? `chirp ${workspace[2]}` : 'other';
}

interface Summary {
  name: string;
  busyMs: number;
  areas: [string, number][];
  functions: [string, number][];
}

export function summarise(name: string, profile: CpuProfile): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (frame === undefined || frame.functionName === '(idle)') return;
    busy += us;
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? ` (${path.basename(frame.url)}:${frame.lineNumber + 1})` : '';
    const fn = `${frame.functionName || '(anonymous)'}${where} — ${area}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  const top = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return { name, busyMs: busy / 1000, areas: top(areas), functions: top(functions) };
}

function render(summaries: Summary[]): string {
  const lines = [
    '# Where each process spent its CPU',
    '',
    'From the `.cpuprofile` files beside this one (`node --cpu-prof`; open one in Chrome DevTools',
    'or https://www.speedscope.app for its flame graph). Self time, idle excluded; an area is the package or Chirp workspace the code is in.',
  ];
  for (const s of summaries) {
    const pct = (us: number) => `${((100 * us) / 1000 / Math.max(s.busyMs, 1e-9)).toFixed(1)}%`;
    lines.push('', `## ${s.name} — ${(s.busyMs / 1000).toFixed(1)} s busy`, '', '| area | share |', '| --- | ---: |');
    for (const [area, us] of s.areas) lines.push(`| ${area} | ${pct(us)} |`);
    lines.push('', '| function (self time) | share |', '| --- | ---: |');
    for (const [fn, us] of s.functions) lines.push(`| ${fn.replaceAll('|', '\\|')} | ${pct(us)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Summarise every `.cpuprofile` under `dir` (any depth) into `dir/summary.md`; returns its path, or undefined when there are none. */
export async function writeProfileSummary(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const files = entries.filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return undefined;
  const summaries: Summary[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    summaries.push(summarise(file.replace(/\.cpuprofile$/, ''), profile));
  }
  const out = path.join(dir, 'summary.md');
  await writeFile(out, render(summaries));
  return out;
}
