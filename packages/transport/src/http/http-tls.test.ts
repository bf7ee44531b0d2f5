/**
 * HTTP over mutual TLS (TCP_TLS_CERT / TCP_TLS_KEY / TCP_TLS_CA, the same files as TCP's), with
 * self-signed certificates made by `openssl` in a temporary folder for this run (no key is
 * ever committed). The test CA is the server's own self-signed certificate, so a client
 * presenting that certificate is one the CA signed, and a client with another is a stranger.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTransport } from '../factory.js';
import { TestWorld, selfSigned, eventually, failure, testSecret } from '../testing/index.js';

let dir: string;
let server: { cert: string; key: string };
let stranger: { cert: string; key: string };

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'chirp-https-'));
  server = selfSigned(dir, 'chirp-test-service');
  stranger = selfSigned(dir, 'someone-else');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let world: TestWorld;
let calls: number;
let address: string;

beforeEach(async () => {
  calls = 0;
  world = new TestWorld('http', { secret: testSecret(), tcpTls: { ...server, ca: server.cert } });
  const listener = await world.serve('echo', {
    echo: (payload) => {
      calls++;
      return payload;
    },
  });
  address = listener.address;
});
afterEach(() => world.close());

describe('HTTP over mutual TLS', () => {
  it('carries calls and events between services holding a certificate the CA signed', async () => {
    const client = world.transport();
    expect(await client.request('echo', 'echo', { over: 'https' })).toEqual({ over: 'https' });
    const publisher = world.transport();
    await world.serve('feed', {}, publisher);
    const seen: unknown[] = [];
    await client.subscribe('feed', 'news', (event) => void seen.push(event));
    await eventually(async () => {
      await publisher.publish('feed', 'news', { n: 1 });
      expect(seen).toContainEqual({ n: 1 });
    });
  });

  it('refuses, during the handshake, a client with no certificate or one the CA did not sign', async () => {
    for (const cert of [undefined, stranger]) {
      const agent = new Agent({
        connect: {
          ca: readFileSync(server.cert),
          ...(cert && { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
        },
      });
      const err = await request(`https://${address}/echo/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
        dispatcher: agent,
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/certificate|alert|socket|closed|ECONNRESET/i);
      await agent.close();
    }
    // A whole transport without a client certificate fails the same way, as UNAVAILABLE.
    const anonymous = createTransport({ ...world.config, tcpTls: { ca: server.cert } });
    expect((await failure(anonymous.request('echo', 'echo', 'hi', { timeoutMs: 3_000 }))).code).toBe('UNAVAILABLE');
    await anonymous.close();
    expect(calls).toBe(0);
    expect(await world.transport().request('echo', 'echo', 'fine')).toBe('fine');
  });

  it('fails a client trusting another CA, and a plain HTTP client, without reaching the handler', async () => {
    const doubtful = createTransport({ ...world.config, tcpTls: { ...server, ca: stranger.cert } });
    const err = await failure(doubtful.request('echo', 'echo', 'hello?', { timeoutMs: 3_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/self-signed certificate/);
    await doubtful.close();
    const plain = createTransport({ ...world.config, tcpTls: undefined });
    expect((await failure(plain.request('echo', 'echo', 'in clear', { timeoutMs: 3_000 }))).code).toMatch(
      /UNAVAILABLE|INVALID_ARGUMENT|INTERNAL/,
    );
    await plain.close();
    expect(calls).toBe(0);
  });
});
