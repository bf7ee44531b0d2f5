/**
 * `npm run soak -- --minutes=N --transport=X[,Y] --clients=M`: soak each transport in turn
 * (run-soak.ts), printing progress every few seconds, and write bench/results/soak-<timestamp>/
 * (report.ts). Not a test: nothing is asserted, the figures are for a person to read. Exit 0
 * when every transport ran to the end, 1 when one failed (the report says how), 2 on a bad
 * command line.
 */
import path from 'node:path';
import { describeMachine } from '../machine.js';
import { stderrProgress } from '../progress.js';
import { DEFAULT_RESULTS_DIR, folderName } from '../suite.js';
import { parseSoakArgs, SOAK_USAGE, SoakUsageError } from './options.js';
import { writeSoakReport, type SoakResults } from './report.js';
import { soakTransport, type SoakTransport } from './run-soak.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseSoakArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof SoakUsageError)) throw err;
    process.stderr.write(`soak: ${err.message}\n\n${SOAK_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${SOAK_USAGE}\n`);
    return 0;
  }
  const started = new Date();
  const progress = stderrProgress(started.getTime());
  const machine = await describeMachine(options.amqpUrl);
  const transports: SoakTransport[] = [];
  for (const transport of options.transports) {
    progress.section(`Soak on ${transport}: ${options.minutes} min, ${options.clients} WebSocket clients`);
    try {
      transports.push(await soakTransport(transport, options, progress));
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      progress.line(`${transport}: FAILED: ${error}`);
      transports.push(failed(transport, error));
    }
  }
  const results: SoakResults = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    options: { ...options, amqpUrl: options.amqpUrl.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@') },
    transports,
  };
  const dir = path.join(options.outDir ?? DEFAULT_RESULTS_DIR, `soak-${folderName(started)}`);
  await writeSoakReport(dir, results);
  process.stderr.write(`\nsoak: report in ${dir}/report.md\n`);
  return transports.some((t) => t.error !== undefined) ? 1 : 0;
}

function failed(transport: SoakTransport['transport'], error: string): SoakTransport {
  return {
    transport,
    minutes: 0,
    warmupMinutes: 0,
    requests: { sent: 0, ok: 0, shed: 0, byKind: {}, errors: {} },
    okPerSecond: 0,
    clients: 0,
    socketDisconnects: 0,
    notifications: { posts: 0, expected: 0, received: 0, missed: 0, duplicates: 0 },
    processes: [],
    error,
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
