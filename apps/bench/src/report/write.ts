/**
 * Writes a run's folder: results.json (every figure, the machine, the settings), and each
 * workload's section rendered (renderers.ts) — its charts as SVG files, its part of report.md
 * that embeds them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SuiteResults } from '../results/suite-results.js';
import { buildReport } from './markdown.js';
import { renderSections } from './renderers.js';

export async function writeResults(dir: string, results: SuiteResults): Promise<string[]> {
  const sections = renderSections(results);
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(results, null, 2)}\n`],
    ...sections.flatMap((s) => s.charts.map((c): [string, string] => [c.file, c.svg])),
    ['report.md', buildReport(results, sections)],
  ];
  for (const [name, content] of files) await writeFile(path.join(dir, name), content);
  return files.map(([name]) => path.join(dir, name));
}
