/**
 * No Docker engine runs here, so docker-compose.yml is proven another way: each service is
 * started as its own process with exactly the command and environment the compose file
 * gives it (compose's `${VAR:-default}` filled in, its host names mapped to 127.0.0.1,
 * against the real local PostgreSQL and RabbitMQ), and the scenario runs through them:
 * sign up → follow → post → timeline and live update; the spans every process exports over OTLP
 * (to compose's Jaeger, here a receiver the test starts) make one trace of the post. Needs the
 * services built (`npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, chirpTransportConfig, client, DEFAULT_PORTS, follows, posts } from '@chirp/contracts';
import { startOtlpReceiver, type OtlpReceiver, type SpanRecord } from '@chirp/telemetry';
import { createTransport, type RoutedTransport } from '@chirp/transport';
import { eventually } from '@chirp/transport/testing';
import { upstream } from '@chirp/transport/testing/spans';
import { trace } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { compose, containerEnv } from './compose-file.js';
import { ROOT, ServiceProcess } from './processes.js';

const SERVICES = ['auth', 'follows', 'posts', 'notify'] as const;
/** Where compose's Jaeger takes OTLP; here, the test's own receiver stands in for it. */
const OTLP_PORT = 4318;

/** What compose hands the container, with its service host names on loopback. */
const localEnv = (service: string, vars: Record<string, string>) => containerEnv(service, vars, () => '127.0.0.1');

let jaeger: OtlpReceiver;
beforeAll(async () => {
  jaeger = await startOtlpReceiver({ port: OTLP_PORT });
  // The accounts compose creates in its postgres and rabbitmq containers (with its default passwords).
  const admin = new pg.Client({
    connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1/postgres',
  });
  await admin.connect();
  await admin.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chirp') THEN CREATE ROLE chirp LOGIN PASSWORD 'chirp' CREATEDB; END IF;
  END $$`);
  await admin.end();
  const users = execFileSync('rabbitmqctl', ['list_users', '--silent'], { encoding: 'utf8' });
  if (!/^chirp\s/m.test(users)) execFileSync('rabbitmqctl', ['add_user', 'chirp', 'chirp']);
  execFileSync('rabbitmqctl', ['set_permissions', '-p', '/', 'chirp', '.*', '.*', '.*']);
});
afterAll(() => jaeger?.close());

it('starts every service from its built main.ts', () => {
  for (const service of SERVICES) {
    const command = compose.services[service]!.command!;
    expect(command[0]).toBe('node');
    expect(existsSync(new URL(`services/${service}/src/main.ts`, ROOT)), `${command[1]} is built from main.ts`).toBe(
      true,
    );
    expect(command[1]).toBe(`services/${service}/dist/main.js`);
  }
});

it('authenticates TCP and UDP out of the box: every Chirp process reads the one secret transport-secret generates', () => {
  // transport-secret's command, run here on a directory of ours in place of its volume.
  const volume = '/run/chirp-secret';
  const dir = mkdtempSync(join(tmpdir(), 'chirp-secret-'));
  const local = (path: string): string => path.replace(volume, dir);
  const [node, ...args] = compose.services['transport-secret']!.command!;
  expect(node).toBe('node');
  execFileSync(process.execPath, args.map(local));
  const file = join(dir, 'transport-secret');
  const first = readFileSync(file, 'utf8');
  execFileSync(process.execPath, args.map(local)); // a restart keeps the secret
  expect(readFileSync(file, 'utf8')).toBe(first);
  expect(statSync(file).mode & 0o777).toBe(0o400);

  const secrets = [...SERVICES, 'web'].map((service) => {
    const { volumes, depends_on } = compose.services[service]!;
    expect(volumes, service).toContain(`transport-secret:${volume}:ro`);
    expect(depends_on?.['transport-secret']?.condition, service).toBe('service_completed_successfully');
    const env = localEnv(service, { TRANSPORT: 'udp' }); // no TRANSPORT_SECRET given
    expect(env.TRANSPORT_SECRET, service).toBe('');
    return chirpTransportConfig({ ...env, TRANSPORT_SECRET_FILE: local(env.TRANSPORT_SECRET_FILE!) }).secret;
  });
  expect(secrets[0]).toMatch(/^[0-9a-f]{64}$/);
  expect(new Set(secrets)).toEqual(new Set([secrets[0]]));
  rmSync(dir, { recursive: true });
});

describe.each(['amqp', 'tcp'])('the compose setup with TRANSPORT=%s', (transport) => {
  const vars = { TRANSPORT: transport, TRANSPORT_SECRET: randomBytes(32).toString('hex') };
  const children = new Map<string, ServiceProcess>();
  let caller: RoutedTransport;

  beforeAll(async () => {
    for (const service of SERVICES) {
      const env = localEnv(service, { ...vars, LOG_LEVEL: 'warn' });
      const child = new ServiceProcess({
        name: service,
        command: compose.services[service]!.command!,
        env,
        ready: { adminPort: Number(env.ADMIN_PORT) },
      });
      children.set(service, child);
      await child.start();
    }
    caller = createTransport(chirpTransportConfig(localEnv('web', vars)));
  }, 120_000);

  afterAll(async () => {
    await caller?.close();
    for (const service of [...SERVICES].reverse()) await children.get(service)?.stop();
  }, 60_000);

  it('runs the scenario through the services as compose starts them, exporting its trace, and they stop cleanly', async () => {
    const suffix = randomBytes(3).toString('hex');
    const a = (await client(caller, auth).signUp({ username: `ann_${suffix}`, password: 'correct horse' })).user;
    const b = (await client(caller, auth).signUp({ username: `ben_${suffix}`, password: 'correct horse' })).user;
    const { token } = await client(caller, auth).logIn({ username: a.username, password: 'correct horse' });

    const socket = new WebSocket(`ws://127.0.0.1:${DEFAULT_PORTS.notify}/ws?token=${token}`, {
      origin: 'http://localhost:3000',
    });
    const received: { type: string; post?: { id: string } }[] = [];
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    await eventually(() => expect(received[0]?.type).toBe('hello'), 10_000);

    await client(caller, follows).follow({ followerId: a.id, followeeId: b.id });
    const parent = upstream();
    const { post } = await client(caller, posts).create(
      { authorId: b.id, authorUsername: b.username, text: 'hi ann' },
      { parent },
    );
    expect((await client(caller, posts).homeTimeline({ userId: a.id })).posts[0]?.id).toBe(post.id);
    await eventually(() => expect(received.find((m) => m.type === 'post')?.post?.id).toBe(post.id), 10_000);
    socket.close();

    for (const service of [...SERVICES].reverse()) {
      const child = children.get(service)!;
      expect(await child.stop(), `${service} exits 0 on SIGTERM: ${child.log}`).toBe(0);
    }

    // Every process exported its part of the post's trace (flushed on SIGTERM), each span a child
    // of the one before it, across three processes and two transport hops.
    const { traceId, spanId } = trace.getSpanContext(parent)!;
    const spans = jaeger.spans().filter((span) => span.traceId === traceId);
    const one = (name: string, kind: SpanRecord['kind'], process: string) => {
      const found = spans.filter((span) => span.name === name && span.kind === kind && span.process === process);
      expect(found, `one ${kind} span ${name} from ${process} in ${JSON.stringify(spans)}`).toHaveLength(1);
      return found[0]!;
    };
    const create = one('posts/create', 'server', 'posts');
    expect(create.parentId).toBe(spanId);
    expect(create.attributes['chirp.transport']).toBe(transport);
    expect(one('INSERT posts', 'client', 'posts').parentId).toBe(create.spanId);
    const published = one('publish post.created', 'producer', 'posts');
    expect(published.parentId).toBe(create.spanId);
    const delivered = one('process post.created', 'consumer', 'notify');
    expect(delivered.parentId).toBe(published.spanId);
    const asked = one('follows/followers', 'client', 'notify');
    expect(asked.parentId).toBe(delivered.spanId);
    expect(one('follows/followers', 'server', 'follows').parentId).toBe(asked.spanId);
    expect(one('push post', 'producer', 'notify').parentId).toBe(delivered.spanId);
  });
});
