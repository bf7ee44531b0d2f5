/**
 * How Chirp's processes are run, shared by `npm start` (scripts/start.mjs) and the
 * benchmark's stack launcher (apps/bench/src/stack): the four services from their build
 * (services/<name>/dist/main.js) and the web app (apps/web/dist/server.js), each a child process
 * whose output goes to a log file; waiting until one answers its readiness URL; stopping it
 * gracefully (SIGTERM, then SIGKILL after a grace period); the end of a log for a process
 * that died. Types: app-processes.d.mts.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** In start order: notify subscribes to posts and calls auth and follows. */
export const SERVICES = ['auth', 'follows', 'posts', 'notify'];

/** A service's admin port (/healthz, /readyz, /metrics) is its port + this, as in packages/service-runtime/src/config.ts. */
export const ADMIN_PORT_OFFSET = 1000;

export function serviceCommand(service) {
  return { command: process.execPath, args: [path.join(ROOT, 'services', service, 'dist', 'main.js')], cwd: ROOT };
}

/** The built web app (apps/web/dist/server.js: the JSON API, and Next.js for the pages) on `port`. */
export function webCommand(port, hostname) {
  const host = hostname === undefined ? [] : ['--hostname', hostname];
  return {
    command: process.execPath,
    args: [path.join(ROOT, 'apps', 'web', 'dist', 'server.js'), '--port', String(port), ...host],
    cwd: path.join(ROOT, 'apps', 'web'),
  };
}

/** Start `name` with its stdout and stderr appended to `logFile`. */
export function startLogged(name, { command, args, cwd }, env, logFile) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return { name, child, logFile };
}

/** Poll `url` until it answers below 500: 'ready', or 'exited' if the process died first, or 'timeout'. */
export async function waitUntilReady({ child }, url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status < 500) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return 'timeout';
}

/** SIGTERM, then SIGKILL after `graceMs`: 'stopped', 'killed', or 'gone' if it had already exited. */
export async function stopGracefully({ child }, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return 'gone';
  const exited = new Promise((resolve) => child.once('exit', () => resolve(true)));
  child.kill('SIGTERM');
  let timer;
  const stopped = await Promise.race([
    exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (stopped) return 'stopped';
  child.kill('SIGKILL');
  await exited;
  return 'killed';
}

/** The last `lines` lines of a log file. */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
