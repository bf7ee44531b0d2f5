/**
 * The report's faults section: per fault, a table with one row per transport (calls, errors
 * by code, writes acknowledged / given up / acknowledged-but-lost / duplicated, notifications
 * lost, time to recover) and a chart of acknowledgements and errors per second around the
 * fault, every transport on it, the fault drawn as a vertical line.
 */
import { BUCKET_MS, FAULT_NAMES, type FaultEpisode, type FaultName, type FaultsSection } from '../results/faults.js';
import type { Chart, Rendered } from '../results/rendered.js';
import { rate } from './format.js';
import { TARGET_COLORS, lineChart } from './svg.js';

const MIXED_COLOR = '#9467bd';

/** Each fault's heading and chart title. */
const FAULT_TITLES: Record<FaultName, string> = {
  'restart-posts': 'posts killed (SIGKILL) and restarted',
  'broker-cut': "the broker closes this stack's AMQP connections",
  'udp-loss-5': '5% of the datagrams to and from posts dropped',
  'udp-loss-20': '20% of the datagrams to and from posts dropped',
};

export function renderFaults(section: FaultsSection): Rendered {
  const load = section.plan;
  const lines = [
    '## Faults',
    '',
    `Each transport's back end (the four service processes on PostgreSQL and RabbitMQ; the load calls posts as the web app's server does) under a steady ` +
      `${load.rate} post creates/s spread over ${load.authors} authors, each create with its own idempotency key and retried ` +
      `with the same key on UNAVAILABLE or DEADLINE_EXCEEDED (${load.attemptTimeoutMs / 1000} s per attempt, given up after ` +
      `${load.retryBudgetMs / 1000} s), while ${load.followers} followers of every author watch over notify's WebSocket. ` +
      'Calls count every attempt, retries included; errors are what the callers saw, by code. ' +
      '**Lost** = acknowledged posts the service no longer has (read back afterwards, every one; must be 0). ' +
      '**Duplicates** = extra stored posts for one idempotency key. **Notifications lost** = (acknowledged posts × ' +
      'followers watching) − deliveries received. **First success** = from the fault to the first call sent after it that ' +
      `succeeded; **rate back** = from the fault to the end of the last ${BUCKET_MS} ms in which acknowledgements were under ` +
      'half the pre-fault rate (0: they never were; – : not within the episode). ' +
      "A broker cut's moment is when the last `rabbitmqctl close_connection` returned. On udp and mixed, posts sits " +
      'behind the lossy proxy all along (loss 0 outside the loss faults); like a firewall it swallows ICMP, so while posts ' +
      'is down its UDP callers wait for their deadline instead of failing at once.',
    '',
  ];
  for (const t of section.transports) if (t.error) lines.push(`- **${t.transport}** not measured: ${t.error}`, '');
  const charts: Chart[] = [];
  for (const name of FAULT_NAMES) {
    const episodes = section.transports.flatMap((t) => t.episodes.filter((e) => e.fault === name));
    if (episodes.length === 0) continue;
    const chart: Chart = {
      file: `faults-${name}.svg`,
      title: FAULT_TITLES[name],
      svg: timelineChart(name, episodes),
    };
    charts.push(chart);
    lines.push(`### ${FAULT_TITLES[name]}`, '', `![${chart.title}](${chart.file})`, '');
    lines.push(
      '| transport | calls | errors by code | writes acked / given up | lost | duplicates | stored unacked | notifications lost | first success | rate back | what happened |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const e of episodes) lines.push(row(e));
    lines.push('');
  }
  return { markdown: lines.join('\n'), charts };
}

function row(e: FaultEpisode): string {
  const codes = Object.entries(e.errorCodes)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const n = e.notifications;
  const cells = [
    e.transport,
    rate(e.calls),
    codes || '0',
    `${rate(e.acknowledged)} / ${rate(e.gaveUp)}`,
    e.lost === 0 ? '0' : `**${e.lost}**`,
    e.duplicates === 0 ? '0' : `**${e.duplicates}**`,
    String(e.storedWithoutAck),
    `${rate(n.lost)} of ${rate(n.expected)}${n.duplicates > 0 ? ` (+${n.duplicates} dup.)` : ''}`,
    seconds(e.firstSuccessAfterMs),
    seconds(e.rateBackAfterMs),
    e.details.join('; '),
  ];
  return `| ${cells.join(' | ')} |`;
}

function seconds(ms: number | null): string {
  return ms === null ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

function timelineChart(name: string, episodes: FaultEpisode[]): string {
  const perSecond = 1000 / BUCKET_MS;
  const at = (i: number): number => ((i + 0.5) * BUCKET_MS) / 1000;
  const series = episodes.flatMap((e) => {
    const color = TARGET_COLORS[e.transport] ?? MIXED_COLOR;
    return [
      {
        name: `${e.transport} acks/s`,
        color,
        points: e.timeline.acks.map((n, i): [number, number] => [at(i), n * perSecond]),
      },
      {
        name: `${e.transport} errors/s`,
        color,
        dashed: true,
        points: e.timeline.errors.map((n, i): [number, number] => [at(i), n * perSecond]),
      },
    ];
  });
  const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const faultAt = episodes[0]!.faultAtMs / 1000;
  const lifted = episodes.find((e) => e.healedAtMs !== e.faultAtMs);
  const marks = [{ name: 'fault', at: faultAt }];
  if (lifted !== undefined) marks.push({ name: 'lifted', at: lifted.healedAtMs / 1000 });
  return lineChart({
    title: `${name}: acknowledgements and errors per second`,
    xLabel: `seconds since the episode began (the fault at ${faultAt.toFixed(1)} s)`,
    yLabel: 'per second',
    series: [
      ...series,
      ...marks.map((m) => ({
        name: m.name,
        color: '#555',
        dashed: true,
        points: [
          [m.at, 0],
          [m.at, top],
        ] as [number, number][],
      })),
    ],
  });
}
