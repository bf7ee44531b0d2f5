/**
 * What only HTTP can get wrong: requests that did not come from our client (undici's
 * plain `request` plays a careless peer), webhook registrations across a publisher
 * restart, and client-side load balancing over a service's addresses.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestWorld, eventually, freePort, sleep } from '../testing/index.js';
import { upstream } from '../testing/spans.js';
import { newTraceId } from '../ids.js';
import type { EventContext, Handlers } from '../transport.js';
import { sinkOf } from './webhooks.js';

const handlers: Handlers = {
  echo: (payload) => payload,
  nothing: () => undefined,
  slow: async () => {
    await sleep(200);
    return 'done';
  },
  huge: () => 'x'.repeat(2 * 1024 * 1024),
};

let world: TestWorld;
let base: string;

beforeEach(async () => {
  world = new TestWorld('http');
  base = `http://${(await world.serve('echo', handlers)).address}`;
});
afterEach(() => world.close());

async function post(
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const response = await request(`${base}${path}`, { method: 'POST', headers, body });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    type: String(response.headers['content-type']),
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

async function stillServes(): Promise<void> {
  expect(await world.transport().request('echo', 'echo', { ok: 1 })).toEqual({ ok: 1 });
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: { code: string; message: string }) => err,
  );
}

describe('HTTP server under bad input', () => {
  it('answers a body that is not JSON with 400 INVALID_ARGUMENT', async () => {
    const reply = await post('/echo/echo', '{"text": oops');
    expect(reply.status).toBe(400);
    expect(reply.type).toMatch(/application\/json/);
    expect(reply.json()).toEqual({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^request body is not valid JSON/),
    });
    await stillServes();
  });

  it('answers an oversized body with 413 RESOURCE_EXHAUSTED, announced or streamed', async () => {
    const limit = world.config.maxMessageBytes.http;
    const announced = await post('/echo/echo', Buffer.alloc(limit + 1, 'x'));
    expect(announced.status).toBe(413);
    expect(announced.json()).toEqual({
      code: 'RESOURCE_EXHAUSTED',
      message: expect.stringMatching(/limit of 1048576 bytes/),
    });
    // No content-length: the server has to count while reading.
    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < 20; i++) yield Buffer.alloc(64 * 1024, 'y');
      })(),
    );
    const streamed = await request(`${base}/echo/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
    });
    expect(streamed.statusCode).toBe(413);
    expect(await streamed.body.json()).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    await stillServes();
  });

  it('refuses a body that is not application/json with a 415 naming what to send', async () => {
    const reply = await post('/echo/echo', 'hello', { 'content-type': 'text/plain' });
    expect(reply.status).toBe(415);
    expect(reply.json()).toEqual({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/text\/plain.*send application\/json/),
    });
    await stillServes();
  });

  it('answers unknown routes with JSON errors: 501 for a method or service not here, 404 otherwise', async () => {
    expect(await post('/echo/nope', '{}').then((r) => [r.status, r.json()])).toEqual([
      501,
      { code: 'UNIMPLEMENTED', message: 'echo has no method nope' },
    ]);
    expect(await post('/posts/create', '{}').then((r) => [r.status, r.json()])).toEqual([
      501,
      { code: 'UNIMPLEMENTED', message: 'this endpoint serves echo, not posts' },
    ]);
    const get = await request(`${base}/echo/echo`);
    expect(get.statusCode).toBe(404);
    expect(await get.body.json()).toEqual({
      code: 'NOT_FOUND',
      message: 'no route GET /echo/echo: calls are POST /echo/<method>',
    });
    expect((await post('/a/b/c', '{}')).status).toBe(404);
    const long = await post(`/echo/${'m'.repeat(150)}`, '{}'); // longer than the router takes as a parameter
    expect([long.status, long.json()]).toEqual([414, { code: 'INVALID_ARGUMENT', message: expect.any(String) }]);
    expect((await request(`${base}/echo/%E0%A4%A`)).statusCode).toBe(400);
    await stillServes();
  });

  it('refuses a timeout header that is not a positive number, and uses the default without one', async () => {
    const bad = await post('/echo/echo', '1', { 'content-type': 'application/json', 'x-timeout-ms': 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'x-timeout-ms must be a positive number of milliseconds',
    });
    const none = await post('/echo/echo', '"plain"');
    expect([none.status, none.json()]).toEqual([200, 'plain']);
  });

  it('sends a string result as JSON, no result as 204, and an oversized result as RESOURCE_EXHAUSTED', async () => {
    const text = await post('/echo/echo', '"a string"');
    expect([text.status, text.type, text.text]).toEqual([200, 'application/json; charset=utf-8', '"a string"']);
    const empty = await request(`${base}/echo/nothing`, { method: 'POST' });
    expect(empty.statusCode).toBe(204);
    const client = world.transport();
    expect(await client.request('echo', 'nothing', undefined)).toBeUndefined();
    expect(await failure(client.request('echo', 'huge', {}))).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    await stillServes();
  });

  it('refuses a malformed subscription with INVALID_ARGUMENT', async () => {
    const reply = await post('/_chirp/subscriptions', JSON.stringify({ subscriptionId: 's', topic: 't', ttlMs: 1000 }));
    expect([reply.status, reply.json()]).toEqual([
      400,
      { code: 'INVALID_ARGUMENT', message: 'subscription callbackUrl must be a non-empty string' },
    ]);
  });
});

describe('HTTP listener lifecycle', () => {
  it('finishes in-flight requests when it closes, then refuses new ones promptly', async () => {
    const listener = await world.serve('lazy', handlers);
    const client = world.transport();
    const call = client.request('lazy', 'slow', {});
    await sleep(50);
    const closing = listener.close();
    expect(await call).toBe('done');
    await closing;
    const started = Date.now();
    expect(await failure(client.request('lazy', 'echo', 1, { timeoutMs: 2_000 }))).toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('HTTP events', () => {
  const TTL_MS = 300; // renewed every 100 ms

  it('reach the subscriber again after the publisher restarts on the same port', async () => {
    const events = new TestWorld('http', { subscriptionTtlMs: TTL_MS });
    try {
      const before = events.transport();
      const first = await events.serve('feed', {}, before);
      const seen: Array<{ event: unknown; context: EventContext }> = [];
      await events
        .transport()
        .subscribe('feed', 'post.created', (event, context) => void seen.push({ event, context }));
      const traceId = newTraceId();
      await before.publish('feed', 'post.created', { n: 0 }, { parent: upstream(traceId) });
      await eventually(() => expect(seen.map((s) => s.event)).toEqual([{ n: 0 }]));
      expect(seen[0]!.context).toMatchObject({ service: 'feed', topic: 'post.created', traceId, transport: 'http' });
      await first.close();

      const after = events.transport();
      await events.serve('feed', {}, after, first.address);
      // The new process knows nobody until the subscriber's next renewal, a third of the TTL at most.
      const restarted = Date.now();
      await eventually(
        async () => {
          await after.publish('feed', 'post.created', { n: 1 });
          await sleep(10);
          expect(seen.map((s) => s.event)).toContainEqual({ n: 1 });
        },
        3 * TTL_MS,
        20,
      );
      expect(Date.now() - restarted).toBeLessThan(TTL_MS);
    } finally {
      await events.close();
    }
  });

  it('forget a subscriber whose callback server refuses: its group partner gets the events', async () => {
    const events = new TestWorld('http', { subscriptionTtlMs: 60_000 });
    try {
      const publisher = events.transport();
      await events.serve('feed', {}, publisher);
      const leaving = events.transport();
      await leaving.subscribe('feed', 'post.created', () => {}, { group: 'workers' });
      const stays: unknown[] = [];
      await events.transport().subscribe('feed', 'post.created', (e) => void stays.push(e), { group: 'workers' });
      await leaving.close(); // no unsubscribe, and the next renewal is a minute away
      for (let n = 0; n < 10; n++) {
        await publisher.publish('feed', 'post.created', { n });
        await sleep(20);
      }
      // Round robin would give the partner 5; the one sent to the vanished member is lost.
      await eventually(() => expect(stays.length).toBeGreaterThanOrEqual(9));
    } finally {
      await events.close();
    }
  });
});

/** An address of this machine other than loopback, if it has one. */
const externalIPv4 = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

describe.skipIf(externalIPv4 === undefined)('HTTP event callbacks beyond loopback', () => {
  it('moves the callback server to every interface when a remote publisher needs it, keeping the local ones', async () => {
    // A stand-in remote publisher that only records what registers with it.
    const registrations: Array<{ callbackUrl: string }> = [];
    const remote = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/_chirp/subscriptions') registrations.push(JSON.parse(body) as { callbackUrl: string });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => remote.listen(0, '0.0.0.0', resolve));
    try {
      const { port } = remote.address() as AddressInfo;
      world.config.services.remote = { listen: `0.0.0.0:${port}`, addresses: [`${externalIPv4}:${port}`] };
      const publisher = world.transport();
      await world.serve('local', {}, publisher);
      const seen: string[] = [];
      const subscriber = world.transport();
      await subscriber.subscribe('local', 'ping', (_e, c) => void seen.push(c.service)); // callback server on 127.0.0.1
      await subscriber.subscribe('remote', 'ping', (_e, c) => void seen.push(c.service)); // moved to every interface

      // The publisher is told "the address you see me from", and that address answers.
      const callback = new URL(registrations.at(-1)!.callbackUrl);
      expect(callback.hostname).toBe('0.0.0.0');
      const direct = await request(`http://${externalIPv4}:${callback.port}${callback.pathname}`, { method: 'POST' });
      expect(direct.statusCode).toBe(204);
      // The local publisher was given the new URL before the old server closed.
      await eventually(async () => {
        await publisher.publish('local', 'ping', {});
        await sleep(20);
        expect(seen).toEqual(expect.arrayContaining(['local', 'remote']));
      });
    } finally {
      remote.close();
    }
  });
});

describe('HTTP callback URLs', () => {
  it('reads "0.0.0.0" as the address the registration came from, and keeps explicit hosts', () => {
    expect(sinkOf('http://0.0.0.0:4000/_chirp/events/a', '::ffff:10.1.2.3')).toEqual({
      origin: 'http://10.1.2.3:4000',
      path: '/_chirp/events/a',
    });
    expect(sinkOf('http://[::]:4000/e?x=1', 'fd00::7')).toEqual({ origin: 'http://[fd00::7]:4000', path: '/e?x=1' });
    expect(sinkOf('http://notify:4300/e', '10.1.2.3')).toEqual({ origin: 'http://notify:4300', path: '/e' });
    expect(sinkOf('https://notify/e', '10.1.2.3')).toEqual({ origin: 'https://notify', path: '/e' });
    expect(sinkOf('https://0.0.0.0/e', '10.1.2.3')).toEqual({ origin: 'https://10.1.2.3:443', path: '/e' });
    expect(sinkOf('ftp://notify/e', '10.1.2.3')).toBeUndefined();
    expect(sinkOf('not a url', '10.1.2.3')).toBeUndefined();
  });
});

describe('HTTP client load balancing', () => {
  it('spreads calls over the live addresses and skips a dead one without failing a call', async () => {
    const second = new TestWorld('http');
    try {
      const first = world.config.services.echo!.addresses![0]!;
      const other = (await second.serve('echo', { echo: () => 'second' })).address;
      const dead = `127.0.0.1:${await freePort()}`;
      world.config.services.echo = { listen: first, addresses: [first, dead, other] };
      const client = world.transport();
      const answers: unknown[] = [];
      for (let i = 0; i < 30; i++) answers.push(await client.request('echo', 'echo', 'first'));
      expect(answers.filter((a) => a === 'first').length).toBeGreaterThan(5);
      expect(answers.filter((a) => a === 'second').length).toBeGreaterThan(5);
      expect(answers.filter((a) => a !== 'first' && a !== 'second')).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
