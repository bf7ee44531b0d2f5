/** The auth service process: config from the environment, then the shared service life (runService). */
import { runService, runtimeConfigFromEnv } from '@chirp/service-runtime';
import { authConfigFromEnv } from './config.js';
import { startAuth } from './start.js';

try {
  await runService(runtimeConfigFromEnv('auth', process.env), startAuth(authConfigFromEnv(process.env)), {
    handleSignals: true,
  });
} catch (err) {
  console.error(`auth: cannot start: ${(err as Error).message}`);
  process.exit(1);
}
