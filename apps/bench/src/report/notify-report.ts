/**
 * The report's notification section: per transport and fan-out, the delivery latency from the
 * create call's start to each follower's socket (p50, p99: median of repetitions with their
 * spread), deliveries missed, and a chart of p99 by fan-out.
 */
import type { NotifySection } from '../results/notify.js';
import type { Rendered } from '../results/rendered.js';
import { ms, spread } from './format.js';
import { TARGET_COLORS, barChart } from './svg.js';

export function renderNotify(section: NotifySection): Rendered {
  const measured = section.targets.filter((t) => t.cases.length > 0);
  const lines = [
    '## Notification latency',
    '',
    `A poster followed by N users (N = ${section.fanouts.join(', ')}), each follower a WebSocket client of notify; ` +
      `${section.postsPerCase} posts per case, one at a time, through the web API (POST /api/posts). Latency runs from the start of the create call to the post's arrival ` +
      "at each follower's socket: web → posts → post.created event → notify → follows.followers → every socket. " +
      `A delivery not there ${section.graceMs / 1000} s after its create call started is missed. Median of repetitions (min–max).`,
    '',
  ];
  const charts =
    measured.length === 0
      ? []
      : [
          {
            file: 'notify-p99.svg',
            title: 'Notification p99 by fan-out',
            svg: barChart({
              title: 'Post → WebSocket delivery, p99',
              yLabel: 'p99 ms',
              groups: section.fanouts.map((n) => `${n} follower${n === 1 ? '' : 's'}`),
              series: measured.map((t) => ({
                name: t.transport,
                color: TARGET_COLORS[t.transport] ?? '#888',
                values: section.fanouts.map((n) => t.cases.find((c) => c.fanout === n)?.p99.median),
              })),
            }),
          },
        ];
  for (const c of charts) lines.push(`![${c.title}](${c.file})`, '');
  lines.push(
    '| transport | followers | p50 ms | p99 ms | max ms | delivered | missed | create call p50 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const t of section.targets) {
    if (t.error !== undefined) lines.push(`| ${t.transport} | – | failed: ${t.error.split('\n')[0]} | | | | | |`);
    for (const c of t.cases) {
      const maxMs = Math.max(...c.runs.map((r) => r.maxMs));
      const delivered = c.runs.reduce((sum, r) => sum + r.received, 0);
      const expected = c.runs.reduce((sum, r) => sum + r.expected, 0);
      const missed = c.runs.reduce((sum, r) => sum + r.missed, 0);
      const create = c.runs.map((r) => r.createP50).sort((a, b) => a - b)[Math.floor(c.runs.length / 2)] ?? 0;
      lines.push(
        `| ${t.transport} | ${c.fanout} | ${spread(c.p50.median, c.p50.min, c.p50.max, ms)} | ${spread(c.p99.median, c.p99.min, c.p99.max, ms)} | ` +
          `${ms(maxMs)} | ${delivered}/${expected} | ${missed} | ${ms(create)} |`,
      );
    }
  }
  lines.push('');
  return { markdown: lines.join('\n'), charts };
}
