/**
 * `npm run bench -- [options]`: run the suite, print where the report is (or, with
 * `--rerender=DIR` alone, only rewrite an earlier run's report from its results.json). Exit 0 when
 * everything was measured, 1 when something could not be (the report says what), 2 on a
 * bad command line.
 */
import { USAGE, UsageError, parseArgs } from './settings.js';
import { stderrProgress } from './progress.js';
import { rerender, runSuite } from './suite.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const again = /^--rerender=(.+)$/.exec(argv[0] ?? '')?.[1];
  if (again !== undefined && argv.length === 1) {
    const files = await rerender(again);
    process.stderr.write(`bench: rewrote ${files.length} files in ${again}\n`);
    return 0;
  }
  let settings;
  try {
    settings = parseArgs(argv, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const started = Date.now();
  const outcome = await runSuite(settings, stderrProgress(started));
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`\nbench: done in ${seconds} s. Report: ${outcome.dir}/report.md\n`);
  if (outcome.incomplete) process.stderr.write('bench: some targets were not measured; the report says which.\n');
  return outcome.incomplete ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
