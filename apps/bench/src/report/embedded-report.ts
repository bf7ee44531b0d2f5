/**
 * The report's section on `npm start` as it comes (PGlite, every request traced, one request at
 * a time): per transport, a home timeline's latency and each process's CPU for it, and
 * auth.verify of a session no cache holds — against the bars the demo is held to.
 */
import {
  EMBEDDED_CPU_TARGET_MS,
  EMBEDDED_PROCESSES,
  EMBEDDED_VERIFY_TARGET_MS,
  totalCpu,
  type EmbeddedSection,
} from '../results/embedded.js';
import type { Rendered } from '../results/rendered.js';
import { ms } from './format.js';

const PROCESSES = [...EMBEDDED_PROCESSES, 'rabbitmq'] as const;

export function renderEmbedded(section: EmbeddedSection): Rendered {
  const lines = [
    '## npm start as it comes (PGlite, one request at a time)',
    '',
    'The application as `npm start` runs it: each service on PGlite (PostgreSQL compiled to WebAssembly, inside ' +
      "the service's process), every request traced for the Transports page. The viewer follows " +
      `${section.followees} people with ${section.postsEach} posts each; ${section.requests} home timelines ` +
      `(GET /api/timeline) one at a time, as one person clicking loads it, after ${section.warmup} unmeasured. CPU is each ` +
      "process's (from /proc) over those requests, per request, and RabbitMQ's on amqp. auth.verify: " +
      `${section.verifies} fresh session tokens (a log-in each, so no cache holds them), each verified once ` +
      'straight at auth, on the same transport, from a client in the load generator. ' +
      `Bars: ≤ ${EMBEDDED_CPU_TARGET_MS} ms of CPU across the stack per home timeline, auth.verify p50 ≤ ` +
      `${EMBEDDED_VERIFY_TARGET_MS} ms. One request at a time costs more CPU per request than a loaded stack: ` +
      'every process wakes for every request, with its caches cold — the last column is the same requests ' +
      'made 8 at a time.',
    '',
    '| transport | home timeline p50 ms | p99 ms | stack CPU ms/request | ' +
      PROCESSES.join(' | ') +
      ' | auth.verify p50 ms | p99 ms | stack CPU ms/request, 8 at a time |',
    '| --- | ---: | ---: | ---: | ' + PROCESSES.map(() => '---:').join(' | ') + ' | ---: | ---: | ---: |',
  ];
  for (const c of section.cases) {
    const cpu = totalCpu(c.cpuMsPerRequest);
    lines.push(
      `| ${c.transport} | ${ms(c.homeTimeline.p50)} | ${ms(c.homeTimeline.p99)} | ` +
        `${cpu.toFixed(2)} ${cpu <= EMBEDDED_CPU_TARGET_MS ? '✓' : '✗'} | ` +
        PROCESSES.map((name) => c.cpuMsPerRequest[name]?.toFixed(2) ?? '–').join(' | ') +
        ` | ${ms(c.verify.p50)} ${c.verify.p50 <= EMBEDDED_VERIFY_TARGET_MS ? '✓' : '✗'} | ${ms(c.verify.p99)} | ` +
        `${c.loadedCpuMsPerRequest.toFixed(2)} |`,
    );
  }
  for (const [transport, error] of Object.entries(section.errors)) {
    lines.push(`| ${transport} | **not measured: ${error}** |`);
  }
  return { markdown: lines.join('\n'), charts: [] };
}
