/**
 * The HTTP transport's server side fuzzed with fast-check: raw bytes over a `node:net`
 * socket, as no client of ours would send them, to a service's listener (its routes and
 * the webhook registrations, webhooks.ts) and to a subscriber's callback server
 * (callbacks.ts). Whatever arrives: an answer of 4xx (501 for a method not served) with a
 * `{code, message}` body, or, for bytes that are not HTTP, the connection closed; never a
 * handler run; and a real request right after is served as usual.
 */
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import { isErrorCode } from '../errors.js';
import { parseHostPort } from '../endpoints.js';
import type { RoutedTransport } from '../factory.js';
import { TestWorld } from '../testing/index.js';

/** A small limit, so oversized bodies cost little. */
const LIMIT = 4096;
/** Longest a server may take to answer and hang up once our side has sent everything. */
const HANG_UP_MS = 3_000;
const NUM_RUNS = 150;

let world: TestWorld;
let client: RoutedTransport;
let service: string;
/** Every handler and event handler run, by name; a case must leave only its real request here. */
const ran: string[] = [];

beforeAll(async () => {
  world = new TestWorld('http', {
    maxMessageBytes: { ...DEFAULT_MAX_MESSAGE_BYTES, http: LIMIT },
    subscriptionTtlMs: 60_000,
  });
  service = (
    await world.serve('fuzz', {
      record: () => void ran.push('record'),
      ping: () => {
        ran.push('ping');
        return 'pong';
      },
    })
  ).address;
  client = world.transport();
});
afterAll(() => world.close());

interface RawReply {
  status: number;
  headers: string;
  body: string;
}

/** Send `bytes`, half-close, and read what comes back until the server hangs up. */
async function exchange(address: string, bytes: string | Uint8Array): Promise<RawReply | undefined> {
  const socket = net.connect({ ...parseHostPort(address), allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const hungUp = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {}); // a reset is one way to hang up
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.end(bytes);
  const timer = setTimeout(() => socket.destroy(new Error('hung')), HANG_UP_MS);
  await hungUp;
  clearTimeout(timer);
  if (socket.errored?.message === 'hung') throw new Error(`the server neither answered nor hung up`);
  return parseFirstReply(Buffer.concat(chunks).toString('latin1'));
}

function parseFirstReply(text: string): RawReply | undefined {
  const match = /^HTTP\/1\.[01] (\d{3}) [^\r]*\r\n((?:[^\r]*\r\n)*?)\r\n/.exec(text);
  if (match === null) {
    expect(text, 'a reply that is not HTTP').toBe('');
    return undefined;
  }
  const headers = match[2]!.toLowerCase();
  const length = /^content-length: *(\d+)/m.exec(headers);
  const rest = Buffer.from(text.slice(match[0].length), 'latin1');
  const body = (length === null ? rest : rest.subarray(0, Number(length[1]))).toString('utf8');
  return { status: Number(match[1]), headers, body };
}

/** A refusal as the transport words it: 4xx (or 501), JSON `{code, message}`. */
function expectRefusal(reply: RawReply | undefined, status?: number | number[], code?: string): void {
  expect(reply, 'an HTTP reply').toBeDefined();
  const { status: got, headers, body } = reply!;
  if (status !== undefined) expect([status].flat()).toContain(got);
  expect(got === 501 || (got >= 400 && got < 500), `status ${got}`).toBe(true);
  expect(headers).toMatch(/^content-type: application\/json/m);
  const error = JSON.parse(body) as { code: unknown; message: unknown };
  expect(isErrorCode(error.code), body).toBe(true);
  expect(typeof error.message === 'string' && error.message.length > 0, body).toBe(true);
  if (code !== undefined) expect(error.code).toBe(code);
}

/** A real call after each case: answered, and the only handler that ran since the case began. */
async function expectStillServes(): Promise<void> {
  expect(await client.request('fuzz', 'ping', {})).toBe('pong');
  expect(ran.splice(0)).toEqual(['ping']);
}

function rawRequest(method: string, path: string, headers: Array<[string, string]>, body: string | Buffer): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

const host: [string, string] = ['host', 'fuzz.test'];
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON'];
const jsonType = fc.constantFrom(...JSON_TYPES);
const notJson = fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => !parses(s));
const validJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const mediaType = fc.stringMatching(/^[a-z]{1,12}\/[a-z0-9.+-]{1,20}$/).filter((type) => type !== 'application/json');
const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) });

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Bad requests aimed at a route that exists, each with the refusal it must get. */
function badRequests(path: string) {
  const withBody = (type: string, body: string | Buffer, extra: Array<[string, string]> = []) =>
    rawRequest('POST', path, [host, ['content-type', type], ['content-length', String(body.length)], ...extra], body);
  return fc.oneof(
    fc.record({ type: jsonType, body: notJson }).map(({ type, body }) => ({
      name: 'invalid JSON',
      bytes: withBody(type, Buffer.from(body)),
      expect: { status: 400, code: 'INVALID_ARGUMENT' },
    })),
    fc.record({ type: mediaType, body: validJson }).map(({ type, body }) => ({
      name: 'wrong content type',
      bytes: withBody(type, Buffer.from(body)),
      expect: { status: 415, code: 'INVALID_ARGUMENT' },
    })),
    fc
      .record({ size: fc.integer({ min: LIMIT - 1, max: 3 * LIMIT }), chunked: fc.boolean() })
      .map(({ size, chunked }) => {
        const body = `"${'x'.repeat(size)}"`; // LIMIT + 1 bytes at least
        const bytes = chunked
          ? rawRequest(
              'POST',
              path,
              [host, ['content-type', 'application/json'], ['transfer-encoding', 'chunked']],
              `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
            )
          : withBody('application/json', Buffer.from(body));
        return { name: 'oversized body', bytes, expect: { status: 413, code: 'RESOURCE_EXHAUSTED' } };
      }),
    fc
      .record({ body: validJson.filter((b) => b.length > 1), keep: fc.double({ min: 0, max: 0.99, noNaN: true }) })
      .map(({ body, keep }) => {
        const full = Buffer.from(body);
        const sent = full.subarray(0, Math.floor(full.length * keep));
        const head = rawRequest(
          'POST',
          path,
          [host, ['content-type', 'application/json'], ['content-length', String(full.length)]],
          '',
        );
        return {
          name: 'truncated body, lying Content-Length',
          bytes: Buffer.concat([head, sent]),
          expect: { status: 400, code: 'INVALID_ARGUMENT' },
        };
      }),
    fc
      .record({ name: fc.stringMatching(/^x-[a-z]{1,10}$/), size: fc.integer({ min: 17 * 1024, max: 64 * 1024 }) })
      .map(({ name, size }) => ({
        name: 'huge header value',
        bytes: withBody('application/json', Buffer.from('{}'), [[name, 'v'.repeat(size)]]),
        expect: { status: 431, code: 'RESOURCE_EXHAUSTED' },
      })),
  );
}

describe('HTTP server fuzzed with raw requests', () => {
  it(`refuses bad bodies and headers on a served route, and runs no handler (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(badRequests('/fuzz/record'), async (bad) => {
        const reply = await exchange(service, bad.bytes);
        expectRefusal(reply, bad.expect.status, bad.expect.code);
        await expectStillServes();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`refuses a timeout header that is not a positive number (${NUM_RUNS} runs)`, async () => {
    const timeout = fc.oneof(
      printable,
      fc.integer({ max: 0 }).map(String),
      fc.constantFrom('NaN', '-Infinity', 'Infinity', '1e400'),
    );
    await fc.assert(
      fc.asyncProperty(
        timeout.filter((t) => t.trim() !== '' && !(Number.isFinite(Number(t)) && Number(t) > 0)),
        async (t) => {
          const bytes = rawRequest(
            'POST',
            '/fuzz/record',
            [host, ['content-type', 'application/json'], ['x-timeout-ms', t], ['content-length', '2']],
            '{}',
          );
          expectRefusal(await exchange(service, bytes), 400, 'INVALID_ARGUMENT');
          await expectStillServes();
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it(`answers any method, path and headers with a JSON refusal unless it is a real call (${NUM_RUNS} runs)`, async () => {
    const method = fc.oneof(
      fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST', 'TRACE'),
      fc.stringMatching(/^[A-Z]{1,10}$/),
    );
    const path = fc.oneof(
      fc.webPath(),
      printable.map((p) => `/${p}`),
      fc.constantFrom(
        '/fuzz/record',
        '/fuzz/nope',
        '/fuzz/',
        '/other/record',
        '/_chirp/subscriptions',
        '/_chirp/events/x',
        '*',
        '/fuzz/record?x=1',
        '/%zz',
      ),
    );
    const headers = fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), printable), { maxLength: 5 });
    const body = fc.oneof(notJson, validJson, fc.constant(''));
    const calls = fc
      .record({ method, path, headers, body, type: fc.oneof(jsonType, mediaType) })
      // A well-formed call of a served method is no bad input, nor is forgetting a subscription (DELETE: 204 even if unknown).
      .filter(
        ({ method, path, body, type }) =>
          !(method === 'POST' && callsHandler(path) && (body === '' || (parses(body) && JSON_TYPES.includes(type)))),
      )
      .filter(({ method, path }) => !(method === 'DELETE' && path.startsWith('/_chirp/subscriptions/')))
      .filter(
        ({ headers }) =>
          !headers.some(([name]) => /^(host|content-length|transfer-encoding|content-type|x-timeout-ms)$/i.test(name)),
      );
    await fc.assert(
      fc.asyncProperty(calls, async ({ method, path, headers, body, type }) => {
        const all: Array<[string, string]> = [host, ...headers];
        if (body !== '') all.push(['content-type', type], ['content-length', String(Buffer.byteLength(body))]);
        const reply = await exchange(service, rawRequest(method, path, all, body));
        if (method === 'HEAD')
          expect(reply?.status).toBeGreaterThanOrEqual(400); // a reply without a body
        else if (method !== 'CONNECT' || reply !== undefined) expectRefusal(reply); // Node hangs up on a CONNECT
        await expectStillServes();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`refuses subscriptions that are not registrations (${NUM_RUNS} runs)`, async () => {
    const field = fc.oneof(
      fc.anything(),
      fc.string(),
      fc.constant('http://127.0.0.1:9/cb'),
      fc.constant('https://x/cb'),
    );
    const registration = fc
      .record(
        {
          subscriptionId: field,
          topic: field,
          callbackUrl: field,
          ttlMs: fc.oneof(fc.anything(), fc.double()),
          group: field,
        },
        { requiredKeys: [] },
      )
      .filter((r) => !isRegistration(r));
    await fc.assert(
      fc.asyncProperty(fc.oneof(registration, fc.anything()), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const bytes = rawRequest(
          'POST',
          '/_chirp/subscriptions',
          [host, ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))]],
          body,
        );
        const reply = await exchange(service, bytes);
        expectRefusal(reply, 400, 'INVALID_ARGUMENT');
        expect(JSON.parse(reply!.body)).toMatchObject({
          message: expect.stringMatching(/^(subscription|request body)/),
        });
        await expectStillServes();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`refuses random bytes that are not HTTP by answering 400 or hanging up (${NUM_RUNS} runs)`, async () => {
    const prefix = fc.constantFrom(
      '',
      'POST /fuzz/record HTTP/1.1\r\n',
      'POST /fuzz/record HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n',
    );
    await fc.assert(
      fc.asyncProperty(prefix, fc.uint8Array({ minLength: 1, maxLength: 2_000 }), async (start, noise) => {
        const reply = await exchange(service, Buffer.concat([Buffer.from(start), noise]));
        if (reply !== undefined) expectRefusal(reply);
        await expectStillServes();
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/** A path the router takes to one of the served methods, however it is spelled. */
function callsHandler(path: string): boolean {
  try {
    return /^\/fuzz\/(record|ping)$/.test(decodeURIComponent(path.split(/[?#;]/)[0]!));
  } catch {
    return false;
  }
}

/** What webhooks.ts accepts; the fuzzer must not count a valid one as bad input. */
function isRegistration(r: Record<string, unknown>): boolean {
  const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '';
  if (!nonEmpty(r.subscriptionId) || !nonEmpty(r.topic) || !nonEmpty(r.callbackUrl)) return false;
  if (r.group !== undefined && !nonEmpty(r.group)) return false;
  if (typeof r.ttlMs !== 'number' || !(r.ttlMs > 0)) return false;
  try {
    return ['http:', 'https:'].includes(new URL(r.callbackUrl as string).protocol);
  } catch {
    return false;
  }
}

describe("a subscriber's callback server fuzzed with raw requests", () => {
  let publisher: Server;
  let callback: URL;

  beforeAll(async () => {
    // A stand-in publisher that only records where the subscriber wants its events.
    const registered = new Promise<string>((resolve) => {
      publisher = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          resolve((JSON.parse(body) as { callbackUrl: string }).callbackUrl);
          res.writeHead(204).end();
        });
      });
    });
    await new Promise<void>((resolve) => publisher.listen(0, '127.0.0.1', resolve));
    world.config.services.feed = { addresses: [`127.0.0.1:${(publisher.address() as net.AddressInfo).port}`] };
    await client.subscribe('feed', 'post.created', () => void ran.push('event'));
    callback = new URL(await registered);
  });
  afterAll(() => new Promise((resolve) => publisher.close(resolve)));

  /** A real event after each case: taken, and the only one delivered since the case began. */
  async function expectStillTakesEvents(): Promise<void> {
    const reply = await request(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"ok":1}',
    });
    expect(reply.statusCode).toBe(204);
    await reply.body.dump();
    expect(ran.splice(0)).toEqual(['event']);
  }

  it(`refuses bad events and unknown subscriptions, and delivers none of them (${NUM_RUNS} runs)`, async () => {
    const unknown = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).map((id) => ({
      name: 'unknown subscription',
      bytes: rawRequest(
        'POST',
        `/_chirp/events/${id}`,
        [host, ['content-type', 'application/json'], ['content-length', '2']],
        '{}',
      ),
      expect: { status: 404, code: 'NOT_FOUND' },
    }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(badRequests(callback.pathname), unknown), async (bad) => {
        expectRefusal(await exchange(callback.host, bad.bytes), bad.expect.status, bad.expect.code);
        await expectStillTakesEvents();
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
