/**
 * HTTP with TRANSPORT_SECRET: undici plays the attacker (the forged `curl -X POST
 * …/posts/create`, a request signed with the wrong secret, an old one, a real client's request
 * captured on the wire and sent again byte for byte) against a real server, and checks that
 * the handler never ran while a real client is still served.
 */
import net from 'node:net';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTransport, type RoutedTransport } from '../factory.js';
import type { Logger } from '../logger.js';
import { REPLAY_WINDOW_MS, SEALED } from '../signing.js';
import { TestWorld, eventually, failure, testSecret } from '../testing/index.js';
import { HttpSigning, SEAL_HEADER } from './auth.js';
import { HttpTransport } from './index.js';

const SECRET = testSecret();
const FORGED = JSON.stringify({ authorId: 'u-1', authorUsername: 'mallory', text: 'forged' });

let world: TestWorld;
let server: RoutedTransport;
let address: string;
let created: unknown[];
let warnings: string[];

function recordingLogger(into: string[]): Logger {
  return { error: () => {}, warn: (_obj, msg) => void into.push(msg ?? ''), info: () => {}, debug: () => {} };
}

beforeEach(async () => {
  created = [];
  warnings = [];
  world = new TestWorld('http', { secret: SECRET });
  server = createTransport(world.config, recordingLogger(warnings));
  const handlers = {
    create: (payload: unknown) => {
      created.push(payload);
      return { id: `p-${created.length}` };
    },
  };
  address = (await world.serve('posts', handlers, server)).address;
});
afterEach(async () => {
  await server.close();
  await world.close();
});

/** POST `body` to /posts/create the way curl would, with `headers` of the attacker's choosing. */
async function forge(headers: Record<string, string> = {}, body = FORGED, path = '/posts/create') {
  const response = await request(`http://${address}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.statusCode, json: (await response.body.json()) as { code: string; message: string } };
}

/** The x-chirp-seal a holder of `secret` would send for this request at `now`. */
function sealOf(secret: string, body: string, now?: number, path = '/posts/create'): string {
  const signing = new HttpSigning(secret);
  const headers: string[] = [];
  if (now === undefined) signing.sign(headers, SEALED.httpToServer, 'POST', path, body);
  else
    headers.push(
      SEAL_HEADER,
      signing.sealer!.sealApart(SEALED.httpToServer, ['POST', path, body], now).toString('base64url'),
    );
  return headers[1]!;
}

function authStats() {
  const http = server.for('posts');
  if (!(http instanceof HttpTransport)) throw new Error('expected the http transport');
  return http.authStats;
}

async function stillServes(): Promise<void> {
  const client = world.transport();
  const expected = { id: `p-${created.length + 1}` };
  expect(await client.request('posts', 'create', { text: 'real' })).toEqual(expected);
  expect(created.at(-1)).toEqual({ text: 'real' });
}

describe('HTTP with TRANSPORT_SECRET', () => {
  it('answers a forged unsigned POST /posts/create with 401, runs nothing, and keeps serving signed clients', async () => {
    const reply = await forge();
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({
      code: 'UNAUTHENTICATED',
      message: `missing ${SEAL_HEADER}: this endpoint takes only requests signed with TRANSPORT_SECRET`,
    });
    // Without a body, with a made-up seal of the right shape, on an unknown method: all 401.
    expect((await forge({ [SEAL_HEADER]: 'A'.repeat(76) })).status).toBe(401);
    expect((await request(`http://${address}/posts/create`, { method: 'POST' })).statusCode).toBe(401);
    expect((await forge({}, '{}', '/posts/deleteEverything')).status).toBe(401);
    expect(created).toEqual([]);
    expect(authStats().unauthenticated).toBe(4);
    expect(warnings).toContain('http: refused a request not signed with TRANSPORT_SECRET');
    await stillServes();
  });

  it('refuses a request signed with another secret, or altered after signing, with 401', async () => {
    const other = await forge({ [SEAL_HEADER]: sealOf(testSecret(), FORGED) });
    expect(other).toMatchObject({ status: 401, json: { code: 'UNAUTHENTICATED' } });
    expect(other.json.message).toMatch(/signed with another TRANSPORT_SECRET, or altered/);
    const altered = await forge({ [SEAL_HEADER]: sealOf(SECRET, FORGED) }, FORGED.replace('forged', 'FORGED'));
    expect(altered.status).toBe(401);
    const moved = await forge({ [SEAL_HEADER]: sealOf(SECRET, FORGED, undefined, '/posts/other') });
    expect(moved.status).toBe(401);
    // A whole client with the wrong secret fails with the same clear code.
    const stranger = createTransport({ ...world.config, secret: testSecret() });
    const err = await failure(stranger.request('posts', 'create', { text: 'x' }));
    expect(err.code).toBe('UNAUTHENTICATED');
    await stranger.close();
    expect(created).toEqual([]);
    await stillServes();
  });

  it('refuses a correctly signed request dated outside ±30 s with 401', async () => {
    for (const now of [Date.now() - REPLAY_WINDOW_MS - 1_000, Date.now() + REPLAY_WINDOW_MS + 1_000]) {
      const reply = await forge({ [SEAL_HEADER]: sealOf(SECRET, FORGED, now) });
      expect(reply.status).toBe(401);
      expect(reply.json.message).toMatch(/dated more than 30 s from this server's clock/);
    }
    expect(authStats().stale).toBe(2);
    expect(created).toEqual([]);
    await stillServes();
  });

  it("refuses a real client's request captured on the wire and replayed byte for byte with 401", async () => {
    const wire = await WireRecorder.start(address);
    try {
      world.config.services.posts = { listen: address, addresses: [wire.address] };
      const client = createTransport(world.config);
      expect(await client.request('posts', 'create', { text: 'once' })).toEqual({ id: 'p-1' });
      await client.close();
      const captured = wire.sent();
      expect(captured.toString('latin1')).toMatch(/^POST \/posts\/create HTTP\/1\.1\r\n/);
      expect(captured.toString('latin1')).toContain(`${SEAL_HEADER}: `);

      const replayed = await sendRaw(address, captured);
      expect(replayed).toMatch(/^HTTP\/1\.1 401 /);
      expect(replayed).toContain('"code":"UNAUTHENTICATED"');
      expect(replayed).toContain('was already used');
      expect(created).toEqual([{ text: 'once' }]);
      expect(authStats().replayed).toBe(1);
    } finally {
      await wire.close();
    }
    world.config.services.posts = { listen: address, addresses: [address] };
    await stillServes();
  });

  it('refuses unsigned webhook registrations and forged events with 401', async () => {
    const registration = JSON.stringify({
      subscriptionId: 'mallory',
      topic: 'post.created',
      callbackUrl: 'http://127.0.0.1:9/anywhere',
      ttlMs: 60_000,
    });
    expect((await forge({}, registration, '/_chirp/subscriptions')).status).toBe(401);

    // A subscriber registering through a wiretap: the attacker reads its callback URL off the wire.
    const wire = await WireRecorder.start(address);
    const seen: unknown[] = [];
    let callback: string;
    try {
      const subscriber = createTransport({ ...world.config, services: { posts: { addresses: [wire.address] } } });
      await subscriber.subscribe('posts', 'post.created', (event) => void seen.push(event));
      const body = wire.sent().toString('utf8');
      callback = (JSON.parse(body.slice(body.indexOf('{'))) as { callbackUrl: string }).callbackUrl;
    } finally {
      await wire.close();
    }
    const forged = await request(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"post":"forged"}',
    });
    expect(forged.statusCode).toBe(401);
    expect(await forged.body.json()).toMatchObject({ code: 'UNAUTHENTICATED' });

    await server.publish('posts', 'post.created', { post: 'real' });
    await eventually(() => expect(seen).toEqual([{ post: 'real' }]));
  });
});

/** Send `bytes` on a new connection; resolves with what came back once a full reply arrived or the server hung up. */
function sendRaw(to: string, bytes: Buffer): Promise<string> {
  const [host, port] = [to.slice(0, to.lastIndexOf(':')), Number(to.slice(to.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let text = '';
    const done = (): void => {
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const length = /content-length: (\d+)/i.exec(text);
      const head = text.indexOf('\r\n\r\n');
      if (length !== null && head >= 0 && text.length - head - 4 >= Number(length[1])) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/** A TCP relay to `target` that keeps every byte clients send through it: a wiretap. */
class WireRecorder {
  readonly #server: net.Server;
  readonly #chunks: Buffer[] = [];
  readonly #sockets = new Set<net.Socket>();

  private constructor(target: string) {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    this.#server = net.createServer((client) => {
      const upstream = net.connect({ host, port });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.#sockets.delete(s));
      }
      client.on('data', (chunk: Buffer) => {
        this.#chunks.push(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('end', () => upstream.end());
    });
  }

  static async start(target: string): Promise<WireRecorder> {
    const recorder = new WireRecorder(target);
    await new Promise<void>((resolve) => recorder.#server.listen(0, '127.0.0.1', resolve));
    return recorder;
  }

  get address(): string {
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  sent(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
