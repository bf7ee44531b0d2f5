/**
 * Writes a run's folder: results.json (every figure, the machine, the settings), each
 * workload's charts as SVG files, and report.md that embeds them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Rendered, SuiteResults } from '../workloads/workload.js';
import { buildReport } from './markdown.js';

export async function writeResults(dir: string, results: SuiteResults, sections: Rendered[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(results, null, 2)}\n`],
    ...sections.flatMap((s) => s.charts.map((c): [string, string] => [c.file, c.svg])),
    ['report.md', buildReport(results, sections)],
  ];
  for (const [name, content] of files) await writeFile(path.join(dir, name), content);
  return files.map(([name]) => path.join(dir, name));
}
