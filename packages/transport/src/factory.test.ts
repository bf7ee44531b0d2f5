import { afterEach, describe, expect, it } from 'vitest';
import { transportConfigFromEnv } from './config.js';
import { createTransport } from './factory.js';
import { eventually, freePort, TestWorld, testSecret } from './testing/index.js';
import type { EventContext } from './transport.js';

const PORTS = { auth: 4101, posts: 4102, follows: 4103 };

describe('transport config from env', () => {
  it('puts every service on TRANSPORT, with one overridden by <SERVICE>_TRANSPORT', () => {
    const config = transportConfigFromEnv({ TRANSPORT: 'tcp', AUTH_TRANSPORT: 'udp' }, PORTS);
    expect(config.services.auth?.transport).toBe('udp');
    expect(config.services.posts?.transport).toBe('tcp');
    expect(config.services.posts?.addresses).toEqual(['127.0.0.1:4102']);
  });

  it("TRANSPORT=mixed is the talk's setup: auth over TCP, posts and follows over AMQP, posts' events over UDP", () => {
    const { services } = transportConfigFromEnv({ TRANSPORT: 'mixed' }, PORTS);
    expect(services.auth).toMatchObject({ transport: 'tcp' });
    expect(services.posts).toMatchObject({ transport: 'amqp', events: 'udp' });
    expect(services.follows).toMatchObject({ transport: 'amqp' });
  });

  it('lets <SERVICE>_TRANSPORT override the preset, and <SERVICE>_EVENTS_TRANSPORT set events apart', () => {
    const { services } = transportConfigFromEnv({ TRANSPORT: 'mixed', POSTS_TRANSPORT: 'tcp' }, PORTS);
    expect(services.posts?.transport).toBe('tcp');
    expect(services.posts?.events).toBeUndefined();
    const apart = transportConfigFromEnv({ POSTS_EVENTS_TRANSPORT: 'amqp' }, PORTS).services.posts;
    expect(apart).toMatchObject({ transport: 'http', events: 'amqp' });
  });

  it('names the variable and the choices when a transport is misspelt', () => {
    expect(() => transportConfigFromEnv({ TRANSPORT: 'tpc' }, PORTS)).toThrow(
      'TRANSPORT=tpc is not a transport: use one of http, amqp, tcp, udp, mixed',
    );
    expect(() => transportConfigFromEnv({ FOLLOWS_TRANSPORT: 'smoke' }, PORTS)).toThrow(/^FOLLOWS_TRANSPORT=smoke/);
  });
});

describe('a transport without TRANSPORT_SECRET', () => {
  it('warns once that TCP/UDP traffic is unauthenticated, when TCP or UDP is first used', async () => {
    const warnings: string[] = [];
    const logger = {
      error: () => {},
      info: () => {},
      debug: () => {},
      warn: (_: object, msg?: string) => void warnings.push(msg!),
    };
    const services = {
      a: { transport: 'tcp' as const, addresses: ['127.0.0.1:1'] },
      b: { transport: 'udp' as const, addresses: ['127.0.0.1:1'] },
    };
    const open = createTransport({ services }, logger);
    open.for('a');
    open.for('b');
    expect(warnings).toEqual([expect.stringMatching(/^TCP\/UDP traffic is unauthenticated.*set TRANSPORT_SECRET/)]);
    await open.close();
    const signed = createTransport({ services, secret: testSecret() }, logger);
    signed.for('a');
    signed.for('b');
    createTransport({ transport: 'http' }, logger).for('c');
    expect(warnings).toHaveLength(1);
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
