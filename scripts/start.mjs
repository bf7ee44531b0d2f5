#!/usr/bin/env node
/**
 * `npm start`: build, then run the whole demo on this machine — auth, follows, posts and
 * notify, each its own process, then the web app — on embedded defaults (PGlite data
 * folders under .data/, TRANSPORT=http unless set). Waits until each is ready, prints
 * where everything is, and on Ctrl-C stops everything gracefully (services finish what
 * they are doing and close their databases) before exiting.
 *
 *   npm start                    TRANSPORT=tcp npm start          AUTH_TRANSPORT=udp npm start
 *   npm start -- --no-build      skip the build (it is already up to date)
 *
 * Each process's log goes to .data/logs/<name>.log; a process that fails to start has
 * the end of its log printed here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['auth', 'follows', 'posts', 'notify'];
const ADMIN_PORT_OFFSET = 1000; // as in packages/service-runtime/src/config.ts
const webPort = Number(process.env.PORT ?? 3000);
const logs = path.join(root, '.data', 'logs');

function fail(message) {
  console.error(`\nchirp: ${message}`);
  process.exit(1);
}

if (!process.argv.includes('--no-build')) {
  console.log('Building (turbo run build)…');
  const build = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (build.status !== 0) fail('the build failed (output above).');
}

// Built code from here on: the same config reader the services use.
const { transportConfigFromEnv } = await import('@chirp/transport');
const { DEFAULT_PORTS } = await import('@chirp/contracts');
let transport;
try {
  transport = transportConfigFromEnv(process.env, DEFAULT_PORTS);
} catch (err) {
  fail(err.message);
}
if (SERVICES.some((s) => transport.services[s]?.transport === 'amqp')) await checkBroker(transport.amqpUrl);

mkdirSync(logs, { recursive: true });
const env = {
  ...process.env,
  NOTIFY_URL: process.env.NOTIFY_URL ?? `ws://localhost:${DEFAULT_PORTS.notify}/ws`,
  NOTIFY_ALLOWED_ORIGINS:
    process.env.NOTIFY_ALLOWED_ORIGINS ?? `http://localhost:${webPort},http://127.0.0.1:${webPort}`,
  NEXT_TELEMETRY_DISABLED: '1',
};
const children = [];
let stopping = false;

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

for (const service of SERVICES) {
  const child = run(service, process.execPath, [path.join(root, 'services', service, 'dist', 'main.js')]);
  await waitFor(child, `http://127.0.0.1:${DEFAULT_PORTS[service] + ADMIN_PORT_OFFSET}/readyz`);
}
const web = run(
  'web',
  process.execPath,
  [path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-p', String(webPort)],
  path.join(root, 'apps', 'web'),
);
await waitFor(web, `http://127.0.0.1:${webPort}/login`);

console.log(`\nChirp is running at http://localhost:${webPort}\n`);
for (const service of SERVICES.filter((s) => s !== 'notify')) {
  const { transport: kind, events, addresses } = transport.services[service];
  const where =
    kind === 'amqp' ? `queue ${transport.amqpPrefix}.${service} on ${redact(transport.amqpUrl)}` : addresses.join(',');
  console.log(`  ${service.padEnd(8)} ${kind.padEnd(5)} ${where}${events ? `  (events over ${events})` : ''}`);
}
console.log(`  ${'notify'.padEnd(8)} ${'ws'.padEnd(5)} ${env.NOTIFY_URL}`);
console.log(`\nData in .data/, logs in .data/logs/. Ctrl-C stops everything.`);

function run(name, command, args, cwd = root) {
  const log = createWriteStream(path.join(logs, `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  child.name = name;
  child.logFile = path.join(logs, `${name}.log`);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\nchirp: ${name} exited (${signal ?? `code ${code}`}); the end of ${child.logFile}:\n`);
      console.error(tail(child.logFile));
      stopAll(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(child, url) {
  process.stdout.write(`Starting ${child.name}…`);
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) return new Promise(() => {}); // its exit handler reports and stops
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(1_000) });
      if (res.status < 500) {
        process.stdout.write(' ready\n');
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(`\nchirp: ${child.name} did not become ready within 2 minutes; see ${child.logFile}`);
  await stopAll(1);
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const exited = await Promise.race([
      new Promise((r) => child.once('exit', () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 15_000)),
    ]);
    if (!exited) {
      console.error(`  ${child.name} did not stop within 15 s; killed`);
      child.kill('SIGKILL');
    } else {
      console.log(`  ${child.name} stopped`);
    }
  }
  process.exit(code);
}

async function checkBroker(url) {
  const amqp = await import('amqplib');
  try {
    const connection = await amqp.connect(url, { timeout: 3_000 });
    await connection.close();
  } catch {
    fail(
      `TRANSPORT=amqp needs RabbitMQ at ${redact(url)}, and it is not reachable: start it ` +
        `(\`rabbitmq-server -detached\`, or \`docker compose up -d rabbitmq\`) or point AMQP_URL at one.`,
    );
  }
}

function redact(url) {
  return url.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@');
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
