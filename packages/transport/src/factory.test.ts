import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { transportConfigFromEnv, type TransportPresets } from './config.js';
import { createTransport, via } from './factory.js';
import { onward } from './options.js';
import { AMQP_TEST_URL, eventually, failure, freePort, TestWorld, testSecret } from './testing/index.js';
import { TRANSPORT_KINDS, type EventContext } from './transport.js';

const PORTS = { auth: 4101, posts: 4102, follows: 4103 };
/** The application names its presets (Chirp's `mixed` is in @chirp/contracts); this one is alike. */
const PRESETS: TransportPresets = {
  mixed: { auth: { transport: 'tcp' }, posts: { transport: 'amqp', events: 'udp' }, follows: { transport: 'amqp' } },
};

describe('transport config from env', () => {
  it('puts every service on TRANSPORT, with one overridden by <SERVICE>_TRANSPORT', () => {
    const config = transportConfigFromEnv({ TRANSPORT: 'tcp', AUTH_TRANSPORT: 'udp' }, PORTS);
    expect(config.services.auth?.transport).toBe('udp');
    expect(config.services.posts?.transport).toBe('tcp');
    expect(config.services.posts?.addresses).toEqual(['127.0.0.1:4102']);
  });

  it("TRANSPORT=<preset> puts each service (and its events) on the preset's transport", () => {
    const { services } = transportConfigFromEnv({ TRANSPORT: 'mixed' }, PORTS, PRESETS);
    expect(services.auth).toMatchObject({ transport: 'tcp' });
    expect(services.posts).toMatchObject({ transport: 'amqp', events: 'udp' });
    expect(services.follows).toMatchObject({ transport: 'amqp' });
  });

  it('lets <SERVICE>_TRANSPORT override the preset, and <SERVICE>_EVENTS_TRANSPORT set events apart', () => {
    const { services } = transportConfigFromEnv({ TRANSPORT: 'mixed', POSTS_TRANSPORT: 'tcp' }, PORTS, PRESETS);
    expect(services.posts?.transport).toBe('tcp');
    expect(services.posts?.events).toBeUndefined();
    const apart = transportConfigFromEnv({ POSTS_EVENTS_TRANSPORT: 'amqp' }, PORTS).services.posts;
    expect(apart).toMatchObject({ transport: 'http', events: 'amqp' });
  });

  it('names the variable and the choices when a transport is misspelt', () => {
    expect(() => transportConfigFromEnv({ TRANSPORT: 'tpc' }, PORTS, PRESETS)).toThrow(
      'TRANSPORT=tpc is not a transport: use one of http, amqp, tcp, udp, nats, mixed',
    );
    expect(() => transportConfigFromEnv({ FOLLOWS_TRANSPORT: 'smoke' }, PORTS)).toThrow(/^FOLLOWS_TRANSPORT=smoke/);
  });

  it('COMPARE_TRANSPORTS serves every service on the other transports too, at its port + 10/20/30 unless set', () => {
    const env = { TRANSPORT: 'tcp', COMPARE_TRANSPORTS: 'http, tcp,udp,amqp', POSTS_UDP_ADDR: '127.0.0.1:9000' };
    const { services } = transportConfigFromEnv(env, PORTS);
    expect(services.auth?.also).toEqual({ http: ['127.0.0.1:4111'], udp: ['127.0.0.1:4131'], amqp: [] });
    expect(services.posts?.also).toEqual({ http: ['127.0.0.1:4112'], udp: ['127.0.0.1:9000'], amqp: [] });
    // Posts' events already travel over UDP under mixed, on posts' own address: served there already.
    expect(
      transportConfigFromEnv({ TRANSPORT: 'mixed', COMPARE_TRANSPORTS: 'udp' }, PORTS, PRESETS).services.posts?.also,
    ).toBe(undefined);
    expect(() => transportConfigFromEnv({ COMPARE_TRANSPORTS: 'http,smtp' }, PORTS)).toThrow(
      /^COMPARE_TRANSPORTS=smtp is not a transport/,
    );
  });
});

/** An address of this machine other than loopback, if it has one. */
const externalIPv4 = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

describe('where services listen by default', () => {
  it("binds npm start's services (no <SERVICE>_ADDR or _LISTEN) to 127.0.0.1, on every transport", () => {
    for (const TRANSPORT of ['http', 'tcp', 'udp', 'mixed']) {
      // What scripts/start.mjs passes its children: the environment plus a generated secret.
      const transport = createTransport(
        transportConfigFromEnv({ TRANSPORT, TRANSPORT_SECRET: testSecret() }, PORTS, PRESETS),
      );
      expect(Object.keys(PORTS).map((s) => transport.route(s).listen)).toEqual([
        '127.0.0.1:4101',
        '127.0.0.1:4102',
        '127.0.0.1:4103',
      ]);
    }
  });

  it('binds every interface when callers reach the service by another name (compose), and obeys <SERVICE>_LISTEN', () => {
    const env = { POSTS_ADDR: 'posts:4102', AUTH_ADDR: '127.0.0.1:4101,10.0.0.2:4101', FOLLOWS_LISTEN: '10.0.0.9:7' };
    const transport = createTransport(transportConfigFromEnv(env, PORTS));
    expect(transport.route('posts').listen).toBe('0.0.0.0:4102');
    expect(transport.route('auth').listen).toBe('0.0.0.0:4101');
    expect(transport.route('follows').listen).toBe('10.0.0.9:7');
    const v6 = createTransport(transportConfigFromEnv({ POSTS_ADDR: '[::1]:4102' }, PORTS));
    expect(v6.route('posts').listen).toBe('[::1]:4102');
  });

  it.skipIf(externalIPv4 === undefined).each(['http', 'tcp'] as const)(
    "a default %s listener answers on loopback and refuses connections to the machine's other address",
    async (kind) => {
      const port = await freePort();
      const env = { TRANSPORT: kind, POSTS_ADDR: `127.0.0.1:${port}`, TRANSPORT_SECRET: testSecret() };
      const server = createTransport(transportConfigFromEnv(env, PORTS));
      try {
        const listener = await server.serve('posts', { ping: () => 'pong' });
        expect(listener.address).toBe(`127.0.0.1:${port}`);
        const client = createTransport(transportConfigFromEnv(env, PORTS));
        expect(await client.request('posts', 'ping', {})).toBe('pong');
        await client.close();
        const outside = await new Promise<string>((resolve) => {
          const socket = net.connect({ host: externalIPv4, port });
          socket.on('connect', () => {
            resolve('connected');
            socket.destroy();
          });
          socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        });
        expect(outside).toBe('ECONNREFUSED');
      } finally {
        await server.close();
      }
    },
  );
});

describe('a transport without TRANSPORT_SECRET', () => {
  it('warns once that HTTP/TCP/UDP service calls are unauthenticated, when any of them is first used', async () => {
    const warnings: string[] = [];
    const logger = {
      error: () => {},
      info: () => {},
      debug: () => {},
      warn: (_: object, msg?: string) => void warnings.push(msg!),
    };
    const services = {
      h: { transport: 'http' as const, addresses: ['127.0.0.1:1'] },
      a: { transport: 'tcp' as const, addresses: ['127.0.0.1:1'] },
      b: { transport: 'udp' as const, addresses: ['127.0.0.1:1'] },
      q: { transport: 'amqp' as const },
    };
    const open = createTransport({ services }, logger);
    open.for('h');
    open.for('a');
    open.for('b');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^HTTP\/TCP\/UDP service calls are unauthenticated: .*register webhooks.*set TRANSPORT_SECRET/,
      ),
    ]);
    await open.close();
    const http = createTransport({ transport: 'http' }, logger);
    http.for('c');
    expect(warnings).toHaveLength(2);
    await http.close();
    const signed = createTransport({ services, secret: testSecret() }, logger);
    signed.for('h');
    signed.for('a');
    signed.for('b');
    createTransport({ transport: 'amqp' }, logger).for('c');
    expect(warnings).toHaveLength(2);
    await signed.close();
  });
});

describe('a service whose events travel apart from its calls', () => {
  let world: TestWorld;
  afterEach(() => world.close());

  it('answers calls over AMQP and delivers its events over UDP', async () => {
    world = new TestWorld('amqp');
    const address = `127.0.0.1:${await freePort()}`;
    world.config.services.posts = { transport: 'amqp', events: 'udp', listen: address, addresses: [address] };
    const server = world.transport();
    await server.serve('posts', { echo: (payload, context) => ({ payload, transport: context.transport }) });

    const caller = world.transport();
    expect(await caller.request('posts', 'echo', 'hi')).toEqual({ payload: 'hi', transport: 'amqp' });

    const seen: EventContext[] = [];
    await caller.subscribe('posts', 'post.created', (_event, context) => void seen.push(context));
    await eventually(async () => {
      await server.publish('posts', 'post.created', { n: 1 });
      expect(seen.length).toBeGreaterThan(0);
    });
    expect(seen[0]).toMatchObject({ service: 'posts', topic: 'post.created', transport: 'udp' });
  });
});

describe('one action over each transport in turn (COMPARE_TRANSPORTS, via)', () => {
  const transports: ReturnType<typeof createTransport>[] = [];
  afterEach(async () => void (await Promise.all(transports.splice(0).map((t) => t.close()))));

  it('serves each service on every transport, and a call marked via(kind) makes every hop over it', async () => {
    // A chain like the home timeline's (web → posts → follows): front's handler calls back.
    const env: Record<string, string> = {
      TRANSPORT: 'http',
      COMPARE_TRANSPORTS: TRANSPORT_KINDS.join(','),
      TRANSPORT_SECRET: testSecret(),
      AMQP_URL: AMQP_TEST_URL,
      AMQP_PREFIX: `test-via-${process.pid}-${Date.now()}`,
    };
    for (const service of ['front', 'back']) {
      for (const suffix of ['ADDR', 'TCP_ADDR', 'UDP_ADDR']) {
        env[`${service.toUpperCase()}_${suffix}`] = `127.0.0.1:${await freePort()}`;
      }
    }
    const make = () => {
      const transport = createTransport(transportConfigFromEnv(env, { front: 0, back: 0, lonely: 0 }));
      transports.push(transport);
      return transport;
    };
    const backs = make();
    await backs.serve('back', { where: (_payload, context) => context.transport });
    const fronts = make();
    await fronts.serve('front', {
      chain: async (_payload, context) => ({
        front: context.transport,
        back: await fronts.request('back', 'where', null, onward(context)),
      }),
    });

    const caller = make();
    expect(caller.kindsOf('front').sort()).toEqual([...TRANSPORT_KINDS].sort());
    expect(await caller.request('front', 'chain', null)).toEqual({ front: 'http', back: 'http' });
    for (const kind of TRANSPORT_KINDS) {
      expect(await caller.request('front', 'chain', null, { parent: via(ROOT_CONTEXT, kind) })).toEqual({
        front: kind,
        back: kind,
      });
    }

    // A service with no listener on that transport: refused at once, saying why.
    delete env.COMPARE_TRANSPORTS;
    const plain = make();
    const refused = await failure(plain.request('front', 'chain', null, { parent: via(ROOT_CONTEXT, 'udp') }));
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).toBe('front is not served over udp (see COMPARE_TRANSPORTS)');
  });
});
