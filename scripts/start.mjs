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
 *
 * Each service also serves the other transports (COMPARE_TRANSPORTS: http, tcp and udp, and amqp
 * when RabbitMQ answers), so the Transports page can compare them on the running application.
 *
 * The services listen on 127.0.0.1 only (their default while no <SERVICE>_ADDR points beyond
 * this machine), and every HTTP, TCP and UDP call between them is signed with TRANSPORT_SECRET.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  ADMIN_PORT_OFFSET,
  ROOT as root,
  SERVICES,
  serviceCommand,
  startLogged,
  stopGracefully,
  tail,
  waitUntilReady,
  webCommand,
} from './app-processes.mjs';

const webPort = Number(process.env.PORT ?? 3000);
const logs = path.join(root, '.data', 'logs');

function fail(message) {
  console.error(`\nchirp: ${message}`);
  process.exit(1);
}

if (!process.argv.includes('--no-build')) {
  // Only what runs here (the web app, the services and what they import), not the benchmark or
  // the tests; a line per package as it starts ("cache hit" when it was already built), since
  // the first build of the web app takes a minute or two.
  console.log('Building the services and the web app (turbo run build; npm start -- --no-build skips this)…');
  const only = ['--filter=@chirp/web...', '--filter=./services/*'];
  const build = spawnSync('npx', ['turbo', 'run', 'build', ...only, '--output-logs=hash-only'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (build.status !== 0) fail('the build failed (output above).');
}

// Built code from here on: the same config reader the services use.
const { TRANSPORTS, TRANSPORT_KINDS } = await import('@chirp/transport');
const { DEFAULT_PORTS, chirpTransportConfig } = await import('@chirp/contracts');
let transport;
try {
  transport = chirpTransportConfig(process.env);
} catch (err) {
  fail(err.message);
}
// A brokered transport a service uses needs its broker now; the others are only compared when theirs answers.
const problems = Object.fromEntries(
  await Promise.all(TRANSPORT_KINDS.map(async (kind) => [kind, await TRANSPORTS[kind].probe?.(transport, 3_000)])),
);
for (const service of SERVICES) {
  const { transport: kind, events } = transport.services[service] ?? {};
  for (const used of [kind, events])
    if (used && problems[used]) fail(`${service} uses ${used}, but ${problems[used]}.`);
}

// The Transports page compares the transports live: every service also serves the others
// (COMPARE_TRANSPORTS, default ports = own + each transport's offset), brokered ones when their broker answers.
const compare = process.env.COMPARE_TRANSPORTS ?? TRANSPORT_KINDS.filter((kind) => !problems[kind]).join(',');

// HTTP/TCP/UDP calls between the processes are signed with TRANSPORT_SECRET; a run without one gets its own.
const secret = process.env.TRANSPORT_SECRET || randomBytes(32).toString('hex');
if (!process.env.TRANSPORT_SECRET) console.log('No TRANSPORT_SECRET set: generated a random one for this run.');

mkdirSync(logs, { recursive: true });
const env = {
  ...process.env,
  COMPARE_TRANSPORTS: compare,
  TRANSPORT_SECRET: secret,
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
  const child = run(service, serviceCommand(service));
  await waitFor(child, `http://127.0.0.1:${DEFAULT_PORTS[service] + ADMIN_PORT_OFFSET}/readyz`);
}
const web = run('web', webCommand(webPort));
await waitFor(web, `http://127.0.0.1:${webPort}/login`);

console.log(`\nChirp is running at http://localhost:${webPort}\n`);
for (const service of SERVICES.filter((s) => s !== 'notify')) {
  const { transport: kind, events } = transport.services[service];
  const where = TRANSPORTS[kind].where(transport, service);
  console.log(`  ${service.padEnd(8)} ${kind.padEnd(5)} ${where}${events ? `  (events over ${events})` : ''}`);
}
console.log(`  ${'notify'.padEnd(8)} ${'ws'.padEnd(5)} ${env.NOTIFY_URL}`);
if (compare)
  console.log(`  and each service over ${compare.replaceAll(',', ', ')} too, for the Transports page's comparison`);
console.log(`\nData in .data/, logs in .data/logs/. Ctrl-C stops everything.`);

function run(name, command) {
  const started = startLogged(name, command, env, path.join(logs, `${name}.log`));
  started.child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\nchirp: ${name} exited (${signal ?? `code ${code}`}); the end of ${started.logFile}:\n`);
      console.error(tail(started.logFile));
      stopAll(1);
    }
  });
  children.push(started);
  return started;
}

async function waitFor(started, url) {
  process.stdout.write(`Starting ${started.name}…`);
  const outcome = await waitUntilReady(started, url, 120_000);
  if (outcome === 'exited') return new Promise(() => {}); // its exit handler reports and stops
  if (outcome === 'ready') {
    process.stdout.write(' ready\n');
    return;
  }
  console.error(`\nchirp: ${started.name} did not become ready within 2 minutes; see ${started.logFile}`);
  await stopAll(1);
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  for (const started of [...children].reverse()) {
    const outcome = await stopGracefully(started, 15_000);
    if (outcome === 'killed') console.error(`  ${started.name} did not stop within 15 s; killed`);
    if (outcome === 'stopped') console.log(`  ${started.name} stopped`);
  }
  process.exit(code);
}
