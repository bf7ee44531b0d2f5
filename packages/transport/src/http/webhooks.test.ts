/**
 * Webhook registration as a server-side request forgery: an attacker registers a callback URL
 * of their choosing (the issue's `http://127.0.0.1:23999/internal/admin?action=anything`) and
 * waits for the publisher to POST events there. The target is a plain HTTP server on loopback
 * that records every request it gets; it must never receive an event.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransport, type RoutedTransport } from '../factory.js';
import type { Logger } from '../logger.js';
import { TestWorld, eventually, sleep, testSecret } from '../testing/index.js';

interface Recorded {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An internal HTTP service that is not a Chirp subscriber: records everything, answers 200 (or echoes). */
class Recorder {
  readonly requests: Recorded[] = [];
  readonly #server: Server;

  constructor(echo: boolean) {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.requests.push({ url: req.url ?? '', headers: req.headers, body });
        // An echo server answers with what it was sent, headers included: the challenge too.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          echo ? JSON.stringify({ answer: req.headers['x-chirp-challenge'], ...req.headers, body }) : '{"ok":true}',
        );
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** What reached it that was not a challenge (an event). */
  events(): Recorded[] {
    return this.requests.filter((r) => r.headers['x-chirp-challenge'] === undefined);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

let world: TestWorld;
let publisher: RoutedTransport;
let base: string;
let recorder: Recorder;

async function setUp(secret?: string, echo = false): Promise<void> {
  world = new TestWorld('http', secret === undefined ? {} : { secret });
  publisher = world.transport();
  base = `http://${(await world.serve('posts', {}, publisher)).address}`;
  recorder = new Recorder(echo);
}
afterEach(async () => {
  await recorder.close();
  await world.close();
});

/** The attacker's registration: raw undici, as curl would send it. */
async function register(topic: string, callbackUrl: string) {
  const response = await request(`${base}/_chirp/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subscriptionId: `mallory-${topic}`, topic, callbackUrl, ttlMs: 600_000 }),
  });
  return { status: response.statusCode, json: (await response.body.json()) as { code: string; message: string } };
}

/** Publish what the issue saw leak, then give any delivery time to arrive. */
async function publishSecrets(): Promise<void> {
  await publisher.publish('posts', 'post.created', { post: { id: 'p1', text: 'hello' } });
  await publisher.publish('posts', 'session.revoked', { sessionId: 'x' });
  await sleep(300);
}

describe('a webhook registered at something that is not a Chirp subscriber', () => {
  describe.each([
    ['a recorder', false],
    ['an echo server', true],
  ])('without TRANSPORT_SECRET, pointing at %s', (_name, echo) => {
    beforeEach(() => setUp(undefined, echo));

    it('is refused with 403 after the challenge, and no event ever reaches it', async () => {
      const target = `${await recorder.listen()}/internal/admin?action=anything`;
      for (const topic of ['post.created', 'session.revoked']) {
        const reply = await register(topic, target);
        expect(reply.status).toBe(403);
        expect(reply.json).toEqual({
          code: 'PERMISSION_DENIED',
          message:
            'subscription refused: its callback did not answer the challenge as a Chirp subscriber of this subscription',
        });
      }
      await publishSecrets();
      // At most the challenge: one empty POST per registration attempt, nothing else.
      expect(recorder.requests.length).toBeLessThanOrEqual(2);
      for (const r of recorder.requests) {
        expect(r).toMatchObject({ url: '/internal/admin?action=anything', body: '' });
        expect(r.headers['x-chirp-challenge']).toMatch(/^[A-Za-z0-9_-]{22}$/);
      }
      expect(recorder.events()).toEqual([]);
    });
  });

  describe('with TRANSPORT_SECRET', () => {
    beforeEach(() => setUp(testSecret()));

    it('refuses the unsigned registration with 401, and the target hears nothing at all', async () => {
      const target = `${await recorder.listen()}/internal/admin?action=anything`;
      const reply = await register('post.created', target);
      expect(reply).toMatchObject({ status: 401, json: { code: 'UNAUTHENTICATED' } });
      await publishSecrets();
      expect(recorder.requests).toEqual([]);
    });
  });

  it('still registers a real subscriber, which answers the challenge and takes the signed events', async () => {
    await setUp(testSecret());
    const seen: Array<[string, unknown]> = [];
    const subscriber = world.transport();
    await subscriber.subscribe('posts', 'post.created', (event, context) => void seen.push([context.topic, event]));
    await publisher.publish('posts', 'post.created', { n: 1 });
    await eventually(() => expect(seen).toEqual([['post.created', { n: 1 }]]));
  });
});

describe('a subscriber that stops taking events', () => {
  it('costs the publisher a few log lines, not one per event, and /metrics counts every event it missed', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      error: (_obj, msg) => void lines.push(`error ${msg}`),
      warn: (_obj, msg) => void lines.push(`warn ${msg}`),
      info: () => {},
      debug: () => {},
    };
    world = new TestWorld('http', { secret: testSecret(), defaultTimeoutMs: 500 });
    recorder = new Recorder(false); // unused here; afterEach closes it
    const publisher = createTransport(world.config, logger);
    let release = (): void => {};
    const stuck = new Promise<void>((resolve) => (release = resolve));
    try {
      await world.serve('posts', {}, publisher);
      // A real subscriber (it answers the challenge) whose handler then never finishes, and which then dies.
      const subscriber = createTransport(world.config);
      let received = 0;
      await subscriber.subscribe('posts', 'post.created', async () => {
        received++;
        await stuck;
      });
      const events = 2_000;
      for (let n = 0; n < events; n++) await publisher.publish('posts', 'post.created', { n });
      await eventually(() => expect(received).toBeGreaterThan(0));
      await subscriber.close(); // after its grace, its sockets are destroyed: the publisher's calls fail
      const counters = await eventually(() => {
        const now = publisher.counters();
        expect(now.transport_http_events_undelivered_total! + now.transport_http_events_dropped_total!).toBe(events);
        return now;
      }, 10_000);
      expect(counters.transport_http_events_dropped_total).toBeGreaterThan(0); // more queued than it may hold
      expect(received).toBeLessThan(events);
      // The issue saw 11,002 lines for 2,000 webhooks to a dead sink: now one per cause and interval.
      expect(lines.sort()).toEqual(['warn http: event not delivered', 'warn http: subscriber too slow, event dropped']);
    } finally {
      release();
      await publisher.close();
    }
  }, 30_000);
});
