/**
 * The whole application as the benchmark measures it: auth, follows, posts and notify, each
 * its own process from its build, and the built web app (apps/web/dist/server.js) — started the
 * way `npm start` starts them (scripts/app-processes.mjs), with every internal call on the
 * transport under test (TRANSPORT=http|amqp|tcp|udp|mixed), on real PostgreSQL (a fresh
 * database per service, databases.ts; or PGlite in a fresh folder, as `npm start` runs them) and
 * real RabbitMQ (a unique AMQP_PREFIX), each process on free loopback ports, with a random
 * TRANSPORT_SECRET for the transports that sign.
 *
 * Everything started is stopped by stop(): on success, when starting fails half way, and on
 * Ctrl-C (SIGINT/SIGTERM stop the stack, then exit 130). If the load generator itself dies,
 * its 'exit' hook kills the processes. A process that dies while the stack runs is reported
 * with the end of its log (logs are in `logDir`, one file per process).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { TRANSPORT_KINDS, type TransportKind } from '@chirp/transport';
import { freePort } from '@chirp/transport/testing';
import {
  SERVICES,
  serviceCommand,
  startLogged,
  stopGracefully,
  tail,
  waitUntilReady,
  webCommand,
  type AppService,
  type LoggedProcess,
} from '../../../../scripts/app-processes.mjs';
import type { CpuReading } from '../process/messages.js';
import { assertBrokerReachable, deleteTopology } from './broker.js';
import { createDatabases, databaseName, databaseUrl, describeSessions, dropDatabases } from './databases.js';
import { processTreeCpu, processesNamedCpu } from './process-cpu.js';

/** One transport for every call, or the mixed preset (auth TCP, posts and follows AMQP, events UDP). */
export type StackTransport = TransportKind | 'mixed';
export const STACK_TRANSPORTS: readonly StackTransport[] = [...TRANSPORT_KINDS, 'mixed'];

/** The services that keep data; notify keeps none. */
const DATABASE_SERVICES: AppService[] = ['auth', 'follows', 'posts'];
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface StackOptions {
  transport: StackTransport;
  amqpUrl: string;
  /** The PostgreSQL server's maintenance database (postgres://…/postgres). */
  postgresUrl: string;
  /** 'pglite': each service's data in PGlite under `logDir`/data, removed by stop(), as `npm start` keeps it (default 'postgres'). */
  database?: 'postgres' | 'pglite';
  /** Where each process's log file goes. */
  logDir: string;
  /** More environment for every process, e.g. AUTH_BCRYPT_COST. */
  env?: Record<string, string>;
  /** Told when a process dies while the stack runs, with the end of its log. */
  onDeath?: (message: string) => void;
  /**
   * Something to put between a service and all its callers (e.g. a lossy UDP proxy): given the
   * address the service listens on (its <SERVICE>_LISTEN), returns the address its callers are
   * given instead (<SERVICE>_ADDR, in clientEnv too).
   */
  front?: Partial<Record<RpcService, (listen: string) => Promise<string>>>;
  /** Start the web app too (default true); a workload that only calls the services saves its start and memory. */
  web?: boolean;
  /** Run every process under `node --cpu-prof`, each writing `<name>.cpuprofile` here when it stops. */
  profileDir?: string;
}

type RpcService = 'auth' | 'posts' | 'follows';

/** The processes the stack starts. */
export type StartedName = AppService | 'web';
/** Those, and the database server and broker they run on (whose CPU is read too). */
export type StackProcessName = StartedName | 'postgres' | 'rabbitmq';

export interface Stack {
  transport: StackTransport;
  /** http://127.0.0.1:<port> of the web app (nothing listens there when started with web: false). */
  webUrl: string;
  /** ws://127.0.0.1:<port>/ws of notify. */
  notifyUrl: string;
  /** What a client in another process needs to call the services as the web app does (TRANSPORT, <SERVICE>_ADDR, AMQP_*, TRANSPORT_SECRET). */
  clientEnv: Record<string, string>;
  /**
   * Every process's CPU time now (with its children), by name, PostgreSQL's and RabbitMQ's too
   * (their processes on this machine); a process gone or not on Linux is missing.
   */
  cpu(): Partial<Record<StackProcessName, CpuReading>>;
  /** Throws, naming the process and the end of its log, if any process has died. */
  assertAlive(): void;
  /** Stop one process (SIGKILL: a crash) and start it again with the same ports and settings; resolves once it is ready. */
  restart(name: StartedName, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Each running process's pid, by name (for its memory and open files in /proc). */
  pids(): Partial<Record<StartedName, number>>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const id = randomBytes(4).toString('hex');
  const pglite = options.database === 'pglite';
  const databases = pglite ? [] : DATABASE_SERVICES.map((service) => databaseName(id, service));
  const dataDir = path.join(options.logDir, 'data');
  const amqpPrefix = `bench-stack-${id}`;
  const started: LoggedProcess[] = [];
  let deaths: string[] = [];
  let running = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  const killAll = (): void => {
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onSignal = (): void => void stop().finally(() => process.exit(130));
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const p of [...started].reverse()) await stopGracefully(p, STOP_GRACE_MS);
      process.off('exit', killAll);
      if (pglite) await rm(dataDir, { recursive: true, force: true });
      else await dropDatabases(options.postgresUrl, databases).catch(() => {});
      if (usesAmqp(options.transport)) await deleteTopology(options.amqpUrl, amqpPrefix).catch(() => {});
    })();
    return stopped;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAll);

  try {
    if (usesAmqp(options.transport)) await assertBrokerReachable(options.amqpUrl);
    if (!pglite) await createDatabases(options.postgresUrl, databases);
    await mkdir(options.logDir, { recursive: true });
    const ports = Object.fromEntries(
      await Promise.all([...SERVICES, 'web'].map(async (name) => [name, await freePort()] as const)),
    ) as Record<StartedName, number>;
    const notifyUrl = `ws://127.0.0.1:${ports.notify}/ws`;
    const webUrl = `http://127.0.0.1:${ports.web}`;
    const clientEnv: Record<string, string> = {
      TRANSPORT: options.transport,
      AMQP_URL: options.amqpUrl,
      AMQP_PREFIX: amqpPrefix,
      NATS_PREFIX: amqpPrefix, // NATS_URL as the bench was given it (inherited)
      TRANSPORT_SECRET: randomBytes(32).toString('hex'),
    };
    const listenEnv: Record<string, string> = {};
    for (const service of ['auth', 'posts', 'follows'] as const) {
      const listen = `127.0.0.1:${ports[service]}`;
      const front = options.front?.[service];
      clientEnv[`${service.toUpperCase()}_ADDR`] = front === undefined ? listen : await front(listen);
      if (front !== undefined) listenEnv[`${service.toUpperCase()}_LISTEN`] = listen;
    }
    const env = {
      ...inheritedEnv(),
      ...clientEnv,
      ...listenEnv,
      ...(pglite
        ? { DATA_DIR: dataDir }
        : Object.fromEntries(
            DATABASE_SERVICES.map((s, i) => [
              `${s.toUpperCase()}_DATABASE_URL`,
              databaseUrl(options.postgresUrl, databases[i]!),
            ]),
          )),
      LOG_LEVEL: 'warn',
      NOTIFY_LISTEN: `127.0.0.1:${ports.notify}`,
      NOTIFY_URL: notifyUrl,
      NOTIFY_ALLOWED_ORIGINS: webUrl,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      ...options.env,
    };
    const launches = new Map<StartedName, () => Promise<void>>();
    const run = async (name: StartedName, readyUrl: string, extraEnv: Record<string, string>) => {
      launches.set(name, () => run(name, readyUrl, extraEnv));
      const command = name === 'web' ? webCommand(ports.web, '127.0.0.1') : serviceCommand(name);
      if (options.profileDir !== undefined) {
        // Node refuses --cpu-prof in NODE_OPTIONS: it goes before the script.
        command.args = [
          `--cpu-prof`,
          `--cpu-prof-dir=${options.profileDir}`,
          `--cpu-prof-name=${name}.cpuprofile`,
          ...command.args,
        ];
      }
      const p = startLogged(name, command, { ...env, ...extraEnv }, path.join(options.logDir, `${name}.log`));
      started.push(p);
      p.child.on('exit', (code, signal) => {
        if (!running || stopping || !started.includes(p)) return; // while starting, waitUntilReady reports it
        const message = `${name} exited (${signal ?? `code ${code}`}); the end of ${p.logFile}:\n${tail(p.logFile)}`;
        deaths = [...deaths, message];
        options.onDeath?.(message);
      });
      const outcome = await waitUntilReady(p, readyUrl, READY_TIMEOUT_MS);
      if (outcome === 'exited')
        throw new Error(`${name} exited while starting; the end of its log:\n${tail(p.logFile)}`);
      if (outcome === 'timeout') {
        // Say how far it got: whether its admin port answers at all, and what its database sessions wait on.
        const answer = await fetch(readyUrl, { signal: AbortSignal.timeout(1_000) }).then(
          (res) => `${readyUrl} answers ${res.status}`,
          () => `nothing answers on ${readyUrl}`,
        );
        const sessions = await describeSessions(options.postgresUrl, databases).catch((err: unknown) => String(err));
        throw new Error(
          `${name} was not ready within ${READY_TIMEOUT_MS / 1000} s (${answer}); the stack's database sessions:\n` +
            `${sessions}\nthe end of its log:\n${tail(p.logFile)}`,
        );
      }
    };
    for (const service of SERVICES) {
      const admin = await freePort();
      await run(service, `http://127.0.0.1:${admin}/readyz`, { ADMIN_PORT: String(admin) });
    }
    if (options.web !== false) await run('web', `${webUrl}/login`, {});
    running = true;

    return {
      transport: options.transport,
      webUrl,
      notifyUrl,
      clientEnv,
      cpu() {
        const readings: Partial<Record<StackProcessName, CpuReading>> = {};
        for (const p of started) {
          const reading = p.child.pid === undefined ? undefined : processTreeCpu(p.child.pid);
          if (reading !== undefined) readings[p.name as StackProcessName] = reading;
        }
        const postgres = processesNamedCpu('postgres');
        if (postgres !== undefined) readings.postgres = postgres;
        const rabbitmq = processesNamedCpu('beam.smp');
        if (rabbitmq !== undefined) readings.rabbitmq = rabbitmq;
        return readings;
      },
      assertAlive() {
        if (deaths.length > 0) throw new Error(deaths.join('\n\n'));
      },
      async restart(name, signal) {
        const p = started.find((s) => s.name === name);
        if (p === undefined) throw new Error(`no ${name} process in this stack`);
        const place = started.indexOf(p);
        started.splice(place, 1);
        if (signal === 'SIGTERM') await stopGracefully(p, STOP_GRACE_MS);
        else if (p.child.exitCode === null && p.child.signalCode === null) {
          const exited = new Promise((resolve) => p.child.once('exit', resolve));
          p.child.kill(signal);
          await exited;
        }
        await launches.get(name)!();
        started.splice(place, 0, started.pop()!); // back in its place in the stop order
      },
      pids() {
        const pids: Partial<Record<StartedName, number>> = {};
        for (const p of started) if (p.child.pid !== undefined) pids[p.name as StartedName] = p.child.pid;
        return pids;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function usesAmqp(transport: StackTransport): boolean {
  return transport === 'amqp' || transport === 'mixed';
}

/** This process's environment without any Chirp setting a person's shell may hold (they would override the stack's). */
function inheritedEnv(): Record<string, string | undefined> {
  const chirp =
    /^(TRANSPORT|DATABASE_URL|DATA_DIR|AMQP_.*|[A-Z]+_(TRANSPORT|EVENTS_TRANSPORT|ADDR|LISTEN|DATABASE_URL)|ADMIN_PORT|PORT)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !chirp.test(key)));
}
