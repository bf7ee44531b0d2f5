/**
 * The notify process: read config from the environment, run the service's life
 * (admin port, transport, WebSocket server, graceful stop on SIGTERM/SIGINT).
 */
import { runService, runtimeConfigFromEnv } from '@chirp/service-runtime';
import { notifyConfigFromEnv } from './config.js';
import { startNotify } from './start.js';

try {
  await runService(runtimeConfigFromEnv('notify', process.env), startNotify(notifyConfigFromEnv(process.env)), {
    handleSignals: true,
  });
} catch (err) {
  process.stderr.write(`notify: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
