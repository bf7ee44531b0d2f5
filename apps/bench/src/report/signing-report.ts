/**
 * The report's signing section: TCP and UDP signed (TRANSPORT_SECRET) beside the same small
 * calls unsigned from the RPC section — throughput, p99 and CPU per call, and a chart of the
 * CPU each costs.
 */
import { findCase } from '../comparison.js';
import type { ClosedLoopSection } from '../results/closed-loop.js';
import type { Rendered } from '../results/rendered.js';
import type { SuiteResults } from '../results/suite-results.js';
import { ms, rate } from './format.js';
import { TARGET_COLORS, barChart } from './svg.js';

export function renderSigning(section: ClosedLoopSection, results: SuiteResults): Rendered {
  const plain = results.sections.rpc?.targets ?? [];
  const lines = [
    '## Signing (TRANSPORT_SECRET on TCP and UDP)',
    '',
    'TCP and UDP with a shared secret: every TCP frame carries an HMAC-SHA256 under keys from a signed hello, every ' +
      'UDP datagram an HMAC over a timestamp, a nonce and the payload, checked against a ±30 s replay window. ' +
      'The RPC section measures them unsigned, like HTTP and AMQP; here the same small calls signed, in the same run. ' +
      'Δ CPU is load generator + server CPU per call, signed minus unsigned.',
    '',
    '| transport | case | c | req/s unsigned | req/s signed | p99 ms unsigned | p99 ms signed | CPU µs/call unsigned | CPU µs/call signed | Δ CPU µs/call |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const bars: { name: string; unsigned?: number; signed?: number }[] = [];
  for (const signed of section.targets) {
    const kind = signed.target === 'tcp+secret' ? 'tcp' : 'udp';
    const unsigned = plain.find((t) => t.target === kind);
    if (signed.error !== undefined) lines.push(`| ${kind} | **not measured: ${signed.error}** |`);
    for (const c of signed.cases) {
      const u = findCase(unsigned, c.call, c.payloadBytes, c.concurrency);
      const cpu = (r: typeof c | undefined) => (r ? r.median.clientCpuPerCall + r.median.serverCpuPerCall : undefined);
      const delta = cpu(u) === undefined ? '–' : `+${Math.round(cpu(c)! - cpu(u)!)}`;
      lines.push(
        `| ${kind} | ${c.label} | ${c.concurrency} | ${u ? rate(u.median.throughput) : '–'} | ${rate(c.median.throughput)} | ` +
          `${u ? ms(u.median.p99) : '–'} | ${ms(c.median.p99)} | ${u ? Math.round(cpu(u)!) : '–'} | ${Math.round(cpu(c)!)} | ${delta} |`,
      );
      if (c.call === 'echo') bars.push({ name: `${kind} c=${c.concurrency}`, unsigned: cpu(u), signed: cpu(c) });
    }
  }
  const chart = {
    file: 'signing-cpu.svg',
    title: 'CPU per call, unsigned and signed (echo 64 B)',
    svg: barChart({
      title: 'CPU per call, load generator + server (µs, echo 64 B)',
      yLabel: 'µs per call',
      groups: bars.map((b) => b.name),
      series: [
        { name: 'unsigned', color: TARGET_COLORS.tcp!, values: bars.map((b) => b.unsigned) },
        { name: 'TRANSPORT_SECRET', color: TARGET_COLORS.udp!, values: bars.map((b) => b.signed) },
      ],
    }),
  };
  lines.push('', `![${chart.title}](${chart.file})`, '');
  return { markdown: lines.join('\n'), charts: [chart] };
}
