/** The follows service process: settings from the environment, then run until SIGTERM. */
import { runService, runtimeConfigFromEnv } from '@chirp/service-runtime';
import { followsConfigFromEnv } from './config.js';
import { startFollows } from './start.js';

try {
  await runService(runtimeConfigFromEnv('follows', process.env), startFollows(followsConfigFromEnv(process.env)), {
    handleSignals: true,
  });
} catch (err) {
  console.error(`follows: cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
