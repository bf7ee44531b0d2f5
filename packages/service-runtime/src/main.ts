/** A service process's entry point: its config from the environment, then `runService` until SIGTERM. */
import { runtimeConfigFromEnv } from './config.js';
import { runService, type Runtime, type Started } from './run.js';

type Env = Record<string, string | undefined>;

/**
 * Run `service` as this process. A bad setting or a failed start (database, port, broker)
 * prints one line, `<service>: cannot start: <why>`, and exits 1 — no stack trace.
 */
export async function serviceMain(
  service: string,
  start: (env: Env) => (runtime: Runtime) => Promise<Started>,
): Promise<void> {
  try {
    await runService(runtimeConfigFromEnv(service, process.env), start(process.env), { handleSignals: true });
  } catch (err) {
    process.stderr.write(`${service}: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
