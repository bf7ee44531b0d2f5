/**
 * TCP over TLS (TCP_TLS_CERT / TCP_TLS_KEY / TCP_TLS_CA), with self-signed certificates
 * made by `openssl` in a temporary folder for this run (no key is ever committed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TCP_LIMITS, transportConfigFromEnv } from '../config.js';
import { parseHostPort } from '../endpoints.js';
import { createTransport } from '../factory.js';
import { TestWorld, selfSigned, failure, sleep, testSecret } from '../testing/index.js';

let dir: string;
/** A certificate for 127.0.0.1 (its own CA), and an unrelated one. */
let server: { cert: string; key: string };
let otherCa: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'chirp-tls-'));
  server = selfSigned(dir, 'chirp-test-server');
  otherCa = selfSigned(dir, 'someone-else').cert;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let world: TestWorld;
let calls: number;

beforeEach(async () => {
  calls = 0;
  world = new TestWorld('tcp', { secret: testSecret(), tcpTls: { ...server, ca: server.cert } });
  await world.serve('echo', {
    echo: (payload) => {
      calls++;
      return payload;
    },
  });
});
afterEach(() => world.close());

describe('TCP over TLS', () => {
  it('carries calls to a server whose certificate the client trusts', async () => {
    const client = createTransport({ ...world.config, tcpTls: { ca: server.cert } });
    expect(await client.request('echo', 'echo', { over: 'tls' })).toEqual({ over: 'tls' });
    await client.close();
  });

  it('fails a client trusting another CA with a clear UNAVAILABLE, and keeps serving', async () => {
    const doubtful = createTransport({ ...world.config, tcpTls: { ca: otherCa } });
    const started = Date.now();
    const err = await failure(doubtful.request('echo', 'echo', 'hello?', { timeoutMs: 4_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      /^tcp: connection to 127\.0\.0\.1:\d+ lost: TLS handshake failed: self-signed certificate/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    await doubtful.close();
    expect(calls).toBe(0);
    expect(await world.transport().request('echo', 'echo', 'fine')).toBe('fine');
  });

  it('fails a plain TCP client cleanly, and keeps serving', async () => {
    const plain = createTransport({ ...world.config, tcpTls: undefined });
    const err = await failure(plain.request('echo', 'echo', 'in clear', { timeoutMs: 4_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    await plain.close();
    expect(calls).toBe(0);
    expect(await world.transport().request('echo', 'echo', 'fine')).toBe('fine');
  });

  it('closes a connection whose TLS handshake does not finish within the hello timeout', async () => {
    const tcpLimits = { ...DEFAULT_TCP_LIMITS, helloTimeoutMs: 300 };
    const strict = new TestWorld('tcp', { secret: testSecret(), tcpTls: { ...server, ca: server.cert }, tcpLimits });
    const { address } = await strict.serve('echo', { echo: (payload) => payload });
    const socket = net.connect(parseHostPort(address));
    socket.on('error', () => {});
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the first bytes of a ClientHello, and no more
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    expect(await Promise.race([closed, sleep(1_500).then(() => false)])).toBe(true);
    socket.destroy();
    expect(await strict.transport().request('echo', 'echo', 'fine')).toBe('fine');
    await strict.close();
  });

  it('reads the files from TCP_TLS_* and says which one cannot be read', () => {
    const env = { TCP_TLS_CERT: server.cert, TCP_TLS_KEY: server.key, TCP_TLS_CA: server.cert };
    expect(transportConfigFromEnv(env, {}).tcpTls).toEqual({ ...server, ca: server.cert });
    expect(() => transportConfigFromEnv({ TCP_TLS_CERT: server.cert }, {})).toThrow(
      /TCP_TLS_CERT and TCP_TLS_KEY go together/,
    );
    const missing = createTransport({ ...world.config, tcpTls: { ca: path.join(dir, 'nope.crt') } });
    expect(() => missing.for('echo')).toThrow(/^TCP_TLS_CA=.*nope\.crt cannot be read/);
  });
});
