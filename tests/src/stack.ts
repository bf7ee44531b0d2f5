/**
 * The whole back end in one test process: auth, follows, posts and notify, each run by
 * the same `runService` life as in production, on one transport and one kind of database.
 * Clients, the notify WebSocket URL and the env another process (the web app) needs to
 * reach them come back with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAuth, authConfigFromEnv } from '@chirp/auth';
import { TRANSPORT_PRESETS, auth, client, follows, posts, type Client } from '@chirp/contracts';
import type { DatabaseConfig, DatabaseKind } from '@chirp/db';
import { testDatabase, type TestDatabase } from '@chirp/db/testing';
import { startFollows, followsConfigFromEnv } from '@chirp/follows';
import { startNotify, notifyConfigFromEnv } from '@chirp/notify';
import { startPosts, postsConfigFromEnv } from '@chirp/posts';
import type { RunningService, Runtime, Started } from '@chirp/service-runtime';
import { startTelemetry } from '@chirp/telemetry';
import { startTestService } from '@chirp/service-runtime/testing';
import { TRANSPORTS, type TransportConfig, type TransportKind } from '@chirp/transport';
import { freePort, TestWorld } from '@chirp/transport/testing';

export const SERVICES = ['auth', 'follows', 'posts', 'notify'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  /** One transport for everything, or a preset of @chirp/contracts' TRANSPORT_PRESETS ('mixed'). */
  transport: TransportKind | 'mixed';
  database: DatabaseKind;
  /** Settings over the test defaults below, e.g. a real bcrypt cost for a timing test. */
  env?: Record<string, string>;
  /** Transports every service also serves, each at a free port (COMPARE_TRANSPORTS). */
  compare?: TransportKind[];
  /** Services the test runs itself (e.g. posts as a process it can SIGKILL): not started here. */
  without?: ServiceName[];
}

export interface Stack {
  world: TestWorld;
  auth: Client<typeof auth>;
  posts: Client<typeof posts>;
  follows: Client<typeof follows>;
  /** ws://host:port/ws of notify. */
  notifyUrl: string;
  /** The environment another process needs to call these services (TRANSPORT, <SERVICE>_ADDR, AMQP_*) and read their spans (<SERVICE>_ADMIN_ADDR). */
  env(): Record<string, string>;
  /** Where a service keeps its data, for tests that look at what is stored. */
  databaseOf(service: ServiceName): DatabaseConfig | undefined;
  restart(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/** Settings for speed in tests: cheap bcrypt, quick heartbeats; pages on any test port may open a socket. */
const TEST_ENV = { AUTH_BCRYPT_COST: '4', NOTIFY_HEARTBEAT_MS: '2000', NOTIFY_ALLOWED_ORIGINS: '*' };

export async function startStack(options: StackOptions): Promise<Stack> {
  // Every service of the stack shares this process's telemetry: its spans say so, not "auth".
  startTelemetry({ service: 'stack', env: {} });
  const world = options.transport === 'mixed' ? await presetWorld('mixed') : new TestWorld(options.transport);
  await serveAlso(world, options.compare ?? []);
  // A service the test runs itself still needs an address everyone knows, on a point-to-point transport.
  for (const name of options.without ?? []) {
    if (TRANSPORTS[world.kind].brokered) continue;
    const address = `127.0.0.1:${await freePort()}`;
    world.config.services[name] = { ...world.config.services[name], listen: address, addresses: [address] };
  }
  const settings = { ...TEST_ENV, ...options.env };
  const databases: TestDatabase[] = [];
  const databaseConfigs = new Map<string, DatabaseConfig>();
  // PGlite in a folder rather than in memory, so a restarted service finds its data again.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'chirp-stack-'));
  const database = (service: string) => {
    const db = testDatabase(options.database, service);
    databases.push(db);
    const config = options.database === 'pglite' ? { ...db.config, dataDir: path.join(dataDir, service) } : db.config;
    databaseConfigs.set(service, config);
    return config;
  };
  // Notify binds a free port at first start and keeps it, so restart('notify') comes back where browsers look.
  let notifyListen = '127.0.0.1:0';
  let notifyUrl = '';
  const starts: Record<ServiceName, (runtime: Runtime) => Promise<Started>> = {
    auth: startAuth({ ...authConfigFromEnv(settings), database: database('auth') }),
    follows: startFollows({ ...followsConfigFromEnv(settings), database: database('follows') }),
    posts: startPosts({ ...postsConfigFromEnv(settings), database: database('posts') }),
    notify: (runtime) =>
      startNotify(notifyConfigFromEnv({ ...settings, NOTIFY_LISTEN: notifyListen }), (address) => {
        notifyListen = address;
        notifyUrl = `ws://${address}/ws`;
      })(runtime),
  };
  const running = new Map<ServiceName, RunningService>();
  const stop = async () => {
    for (const name of [...SERVICES].reverse()) await running.get(name)?.stop();
    running.clear();
    await world.close();
    await Promise.all(databases.map((db) => db.drop()));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    for (const name of SERVICES) {
      if (!options.without?.includes(name)) running.set(name, await startTestService(world, name, starts[name]));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const caller = world.transport();
  return {
    world,
    auth: client(caller, auth),
    posts: client(caller, posts),
    follows: client(caller, follows),
    get notifyUrl() {
      return notifyUrl;
    },
    env: () => {
      const env: Record<string, string> = {
        TRANSPORT: options.transport,
        AMQP_URL: world.config.amqpUrl,
        AMQP_PREFIX: world.config.amqpPrefix,
        NATS_URL: world.config.natsUrl,
        NATS_PREFIX: world.config.natsPrefix,
        NOTIFY_URL: notifyUrl,
      };
      for (const [service, route] of Object.entries(world.config.services)) {
        if (route.addresses?.length) env[`${service.toUpperCase()}_ADDR`] = route.addresses.join(',');
        for (const [kind, addresses] of Object.entries(route.also ?? {})) {
          if (addresses.length) env[`${service.toUpperCase()}_${kind.toUpperCase()}_ADDR`] = addresses.join(',');
        }
      }
      if (options.compare?.length) env.COMPARE_TRANSPORTS = options.compare.join(',');
      // Where each service's spans are kept (admin ports are picked at start, and change on restart).
      for (const [service, runningService] of running) {
        env[`${service.toUpperCase()}_ADMIN_ADDR`] = runningService.adminAddress;
      }
      return env;
    },
    databaseOf: (service) => databaseConfigs.get(service),
    restart: async (name) => {
      await running.get(name)?.stop();
      running.set(name, await startTestService(world, name, starts[name]));
    },
    stop,
  };
}

/** A world on a preset: every service at a fixed free port, since one may listen on two transports. */
async function presetWorld(name: string): Promise<TestWorld> {
  const services: TransportConfig['services'] = {};
  for (const service of SERVICES) {
    const address = `127.0.0.1:${await freePort()}`;
    services[service] = { ...TRANSPORT_PRESETS[name]?.[service], listen: address, addresses: [address] };
  }
  return new TestWorld('http', { services });
}

/** Every service also served on each of `kinds` it is not on already, at a free port (none for a brokered one). */
async function serveAlso(world: TestWorld, kinds: TransportKind[]): Promise<void> {
  for (const service of SERVICES) {
    const own = (world.config.services[service] ??= {});
    for (const kind of kinds) {
      if (kind === (own.transport ?? world.kind) || kind === own.events) continue;
      own.also = { ...own.also, [kind]: TRANSPORTS[kind].brokered ? [] : [`127.0.0.1:${await freePort()}`] };
    }
  }
}
