/**
 * The web app as the browser and API tests run it: a production build (made once, and again
 * only when a source it is built from changed since: Next's build and the server's), served by
 * its server (dist/server.js: the JSON API, and Next.js for the pages) in its own process on a
 * free loopback port with the stack's environment — the same way a person runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@chirp/transport/testing';

export const WEB_DIR = fileURLToPath(new URL('../..', import.meta.url));
const NEXT_BIN = createRequire(import.meta.url).resolve('next/dist/bin/next');
const TSC_BIN = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const BUILD_ID = path.join(WEB_DIR, '.next', 'BUILD_ID');
const SERVER = path.join(WEB_DIR, 'dist', 'server.js');

/** What the build is made from: a change to any of these makes the build stale. */
const BUILD_INPUTS = [
  path.join(WEB_DIR, 'src'),
  path.join(WEB_DIR, 'next.config.ts'),
  path.join(WEB_DIR, 'package.json'),
  path.join(WEB_DIR, 'tsconfig.json'),
  path.join(WEB_DIR, 'tsconfig.server.json'),
];

function newestChange(file: string): number {
  if (!existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return /\.test\.ts$/.test(file) ? 0 : stat.mtimeMs;
  if (path.basename(file) === 'testing' && file.startsWith(WEB_DIR)) return 0; // test helpers are not built
  return Math.max(stat.mtimeMs, ...readdirSync(file).map((name) => newestChange(path.join(file, name))));
}

export function buildIsStale(): boolean {
  if (process.env.WEB_TEST_REBUILD === '1' || !existsSync(BUILD_ID) || !existsSync(SERVER)) return true;
  const built = Math.min(statSync(BUILD_ID).mtimeMs, statSync(SERVER).mtimeMs);
  return Math.max(...BUILD_INPUTS.map(newestChange)) > built;
}

/**
 * `next build --webpack` and the server's `tsc` unless the existing build is current. Returns
 * whether it built. The workspace packages are used from their builds (`npm test` builds them).
 */
export async function ensureBuilt(): Promise<boolean> {
  if (!buildIsStale()) return false;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    // `npm test` type-checked every workspace just before the tests; don't do it twice.
    CHIRP_WEB_SKIP_TYPECHECK: '1',
  };
  for (const [what, args] of [
    ['next build', [NEXT_BIN, 'build', '--webpack']],
    ['tsc -p tsconfig.server.json', [TSC_BIN, '-p', 'tsconfig.server.json']],
  ] as const) {
    const build = run([...args], env);
    const code = await new Promise<number | null>((resolve) => build.child.on('exit', resolve));
    if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${build.output().slice(-4000)}`);
  }
  return true;
}

export interface WebApp {
  url: string;
  /** What the server printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The web server on a free port with `env` added to this process's environment; its admin port
 * (/metrics) on another free port, as tests run several apps at once.
 */
export async function startWebApp(env: Record<string, string>): Promise<WebApp> {
  const port = await freePort();
  const server = run([SERVER, '--port', String(port), '--hostname', '127.0.0.1'], {
    ...process.env,
    ADMIN_PORT: '0',
    ...env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return;
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (server.child.exitCode !== null) throw new Error(`the web server exited:\n${server.output().slice(-4000)}`);
    const ok = await fetch(`${url}/login`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the web server did not answer on ${url} within 30 s:\n${server.output().slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, output: server.output, stop };
}

/** `node <args>` in the web app's folder, its output kept. */
function run(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output(): string } {
  const child = spawn(process.execPath, args, { cwd: WEB_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

/**
 * notify checks the Origin of every WebSocket handshake against NOTIFY_ALLOWED_ORIGINS; a page
 * on a test port must be allowed, or no live test can pass. Ask once, plainly: a handshake
 * without a token is refused 401 (origin fine) or 403 (origin refused).
 */
export async function assertNotifyAcceptsOrigin(notifyUrl: string, origin: string): Promise<void> {
  const url = new URL(notifyUrl.replace(/^ws/, 'http'));
  const status = await new Promise<number>((resolve, reject) => {
    const request = http.get(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        origin,
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    request.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    request.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    request.on('error', reject);
  });
  if (status === 403) {
    throw new Error(
      `notify (${notifyUrl}) refuses pages from ${origin}: start it with NOTIFY_ALLOWED_ORIGINS=* (or this origin) for the browser tests`,
    );
  }
}
