/**
 * A soak's folder, bench/results/soak-<timestamp>/: results.json (every sample and figure,
 * the machine, the options), a chart of each transport's memory over time, and report.md:
 * per transport the load it carried, the notifications it missed, and per process the memory
 * slope after warm-up and the open descriptors at the start and the end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Machine } from '../machine.js';
import { rate } from '../report/format.js';
import { lineChart } from '../report/svg.js';
import type { SoakOptions } from './options.js';
import type { SoakTransport } from './run-soak.js';

export interface SoakResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  options: SoakOptions;
  transports: SoakTransport[];
}

const PROCESS_COLORS: Record<string, string> = {
  auth: '#1f77b4',
  follows: '#2ca02c',
  posts: '#e6730b',
  notify: '#d62728',
  web: '#9467bd',
};

export async function writeSoakReport(dir: string, results: SoakResults): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const charts = results.transports
    .filter((t) => t.processes.length > 0)
    .map((t) => ({ file: `soak-rss-${t.transport}.svg`, transport: t.transport, svg: rssChart(t) }));
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(results, null, 2)}\n`],
    ...charts.map((c): [string, string] => [c.file, c.svg]),
    ['report.md', markdown(results, charts)],
  ];
  for (const [name, content] of files) await writeFile(path.join(dir, name), content);
  return files.map(([name]) => path.join(dir, name));
}

function markdown(results: SoakResults, charts: { file: string; transport: string }[]): string {
  const { machine, options } = results;
  const lines = [
    `# Chirp soak — ${results.startedAt}`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, RabbitMQ ${machine.rabbitmq ?? 'not reached'}; ` +
      `load average at the start ${machine.loadAverage.join(', ')}.`,
    '',
    `Each transport: the whole application (four services and the web app, PostgreSQL, RabbitMQ), ${options.users} users ` +
      `(a generated power-law graph), the social mix through the web API at ${options.rate} requests/s for ` +
      `${options.minutes} min, and ${options.clients} signed-in users watching their live timeline over notify's WebSocket. ` +
      'Memory is each process tree’s RSS from /proc, sampled every ' +
      `${options.sampleEveryMs / 1000} s; the slope is a least-squares fit after warm-up. A notification is missed when a ` +
      'watching follower (or the author) had not received the post 5 s after it was written. ' +
      'Every sample is in [results.json](results.json).',
    '',
    '| transport | minutes | requests ok/s | errors | shed | clients (disconnects) | notifications missed | duplicates |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const t of results.transports) {
    if (t.error !== undefined) {
      lines.push(`| ${t.transport} | failed: ${t.error.split('\n')[0]} | | | | | | |`);
      continue;
    }
    const errors = Object.entries(t.requests.errors)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    const n = t.notifications;
    lines.push(
      `| ${t.transport} | ${t.minutes.toFixed(1)} | ${t.okPerSecond.toFixed(1)} | ${errors || '0'} | ${t.requests.shed} | ` +
        `${t.clients} (${t.socketDisconnects}) | ${rate(n.missed)} of ${rate(n.expected)} (${n.posts} posts) | ${n.duplicates} |`,
    );
  }
  lines.push('');
  for (const t of results.transports.filter((x) => x.processes.length > 0)) {
    lines.push(
      `## ${t.transport}`,
      '',
      `Warm-up excluded from the slope: the first ${(t.warmupMinutes * 60).toFixed(0)} s.`,
      '',
      '| process | RSS start MiB | RSS end MiB | RSS slope after warm-up (MiB/min) | open fds start | open fds end |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const p of t.processes) {
      lines.push(
        `| ${p.process} | ${p.rssStartMiB.toFixed(1)} | ${p.rssEndMiB.toFixed(1)} | ${p.rssSlopeMiBPerMin?.toFixed(2) ?? '– (too short)'} | ${p.fdsStart} | ${p.fdsEnd} |`,
      );
    }
    const chart = charts.find((c) => c.transport === t.transport);
    if (chart !== undefined) lines.push('', `![RSS over time on ${t.transport}](${chart.file})`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function rssChart(t: SoakTransport): string {
  return lineChart({
    title: `Resident memory during the soak on ${t.transport}`,
    xLabel: 'minutes since the load started',
    yLabel: 'RSS MiB',
    series: t.processes.map((p) => ({ name: p.process, color: PROCESS_COLORS[p.process] ?? '#888', points: p.rss })),
  });
}
