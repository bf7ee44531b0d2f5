/**
 * TCP with TRANSPORT_SECRET: a raw `node:net` socket plays the attacker (no secret, the
 * wrong secret, an old hello, a real client's connection captured and sent again byte for
 * byte) against a real server, while a real client checks that everyone else is served.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHostPort } from '../endpoints.js';
import { encodeEnvelope } from '../envelope.js';
import { createTransport, type RoutedTransport } from '../factory.js';
import type { Logger } from '../logger.js';
import { MAC_BYTES, REPLAY_WINDOW_MS, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, failure, sleep, testSecret } from '../testing/index.js';
import { encodeFrame } from './framing.js';
import { TcpTransport } from './index.js';
import { openSession } from './session.js';

const SECRET = testSecret();

let world: TestWorld;
let server: RoutedTransport;
let address: string;
let calls: number;
let warnings: string[];

beforeEach(async () => {
  calls = 0;
  warnings = [];
  const logger: Logger = {
    error: () => {},
    warn: (_obj, msg) => void warnings.push(msg ?? ''),
    info: () => {},
    debug: () => {},
  };
  world = new TestWorld('tcp', { secret: SECRET });
  server = createTransport(world.config, logger);
  const echo = (payload: unknown): unknown => {
    calls++;
    return payload;
  };
  address = (await world.serve('echo', { echo }, server)).address;
});
afterEach(async () => {
  await server.close();
  await world.close();
});

function stats(): TcpTransport['stats'] {
  const tcp = server.for('echo');
  if (!(tcp instanceof TcpTransport)) throw new Error('expected the tcp transport');
  return tcp.stats;
}

function requestMessage(id: string, payload: unknown): Buffer {
  return encodeEnvelope({
    type: 'request',
    id,
    service: 'echo',
    method: 'echo',
    payload,
    timeoutMs: 2_000,
  });
}

/** A hello and one signed request, as a client holding `secret` would send them at `now`. */
function signedConnection(secret: string, now = Date.now()): Buffer {
  const { hello, auth } = openSession(new Sealer(secretBytes(secret)), now);
  const frame = encodeFrame(requestMessage('r1', 'sneaky'), MAC_BYTES);
  auth.seal(frame);
  return Buffer.concat([hello, frame]);
}

/** Send `bytes` on a new raw connection; resolves with what came back once the server hangs up. */
async function sendRaw(bytes: Buffer, maxWaitMs = 3_000): Promise<{ received: Buffer; closedByServer: boolean }> {
  const socket = net.connect(parseHostPort(address));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(bytes);
  const closedByServer = await Promise.race([
    new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))),
    sleep(maxWaitMs).then(() => false),
  ]);
  socket.destroy();
  return { received: Buffer.concat(chunks), closedByServer };
}

async function stillServes(client: RoutedTransport): Promise<void> {
  expect(await client.request('echo', 'echo', 'still here')).toBe('still here');
}

describe('TCP with TRANSPORT_SECRET', () => {
  it('serves a client holding the secret, and its frames carry a MAC, not the bare message', async () => {
    const client = world.transport();
    expect(await client.request('echo', 'echo', { hi: 'signed' })).toEqual({ hi: 'signed' });
    expect(calls).toBe(1);
    expect(stats()).toEqual({ unauthenticated: 0, stale: 0, replayed: 0 });
  });

  it('hangs up on unsigned, wrong-key and stale connections without running anything, and keeps serving', async () => {
    const client = world.transport();
    await stillServes(client);
    const attempts = [
      Buffer.concat([encodeFrame(requestMessage('r1', 'unsigned'))]), // a client without the secret
      signedConnection(testSecret()), // another secret
      signedConnection(SECRET, Date.now() - REPLAY_WINDOW_MS - 5_000), // an old hello
      signedConnection(SECRET, Date.now() + REPLAY_WINDOW_MS + 5_000), // one from the future
    ];
    for (const bytes of attempts) {
      const { received, closedByServer } = await sendRaw(bytes);
      expect(closedByServer).toBe(true);
      expect(received).toHaveLength(0);
      await stillServes(client);
    }
    expect(calls).toBe(1 + attempts.length); // only the real client's calls ran
    expect(stats()).toEqual({ unauthenticated: 2, stale: 2, replayed: 0 });
    // Counted one by one, but logged once: repeats within the interval only add to a count.
    expect(warnings.filter((w) => /failed authentication/.test(w))).toHaveLength(1);
  });

  it('writes one warning line, not one per connection, for a flood of bad hellos', async () => {
    const client = world.transport();
    const floods = Array.from({ length: 300 }, () => sendRaw(encodeFrame(requestMessage('r1', 'unsigned'))));
    for (const { closedByServer } of await Promise.all(floods)) expect(closedByServer).toBe(true);
    await stillServes(client);
    expect(stats().unauthenticated).toBe(300); // every refusal is still counted for /metrics
    expect(warnings.filter((w) => /failed authentication/.test(w))).toHaveLength(1);
  });

  it("refuses a real client's connection captured and replayed byte for byte", async () => {
    // A fake server records what a real client sends: its hello and its request.
    const captured: Buffer[] = [];
    const recorder = net.createServer((socket) => socket.on('data', (chunk) => captured.push(chunk)));
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const recorderAddress = `127.0.0.1:${(recorder.address() as net.AddressInfo).port}`;
    const victim = createTransport({ ...world.config, services: { echo: { addresses: [recorderAddress] } } });
    const lost = victim.request('echo', 'echo', 'pay bob 10', { timeoutMs: 300 }).catch(() => undefined);
    await eventually(() => expect(Buffer.concat(captured).length).toBeGreaterThan(4 + 57));
    await lost;
    await victim.close();
    recorder.close();
    const recording = Buffer.concat(captured);

    // The first delivery is the real client's request (it never reached the server).
    const first = await sendRaw(recording, 500);
    expect(first.received.length).toBeGreaterThan(0);
    expect(calls).toBe(1);
    // Again, on a new connection: the hello's nonce was seen.
    const again = await sendRaw(recording);
    expect(again).toEqual({ received: Buffer.alloc(0), closedByServer: true });
    expect(calls).toBe(1);
    expect(stats().replayed).toBe(1);
    await stillServes(world.transport());
  });

  it('hangs up when a frame is sent again within its connection', async () => {
    const { hello, auth } = openSession(new Sealer(secretBytes(SECRET)));
    const frame = encodeFrame(requestMessage('r1', 'once'), MAC_BYTES);
    auth.seal(frame);
    const socket = net.connect(parseHostPort(address));
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.concat([hello, frame]));
    await eventually(() => expect(received).toHaveLength(1)); // the reply
    socket.write(frame);
    await closed;
    expect(received).toHaveLength(1);
    expect(calls).toBe(1);
    expect(stats().unauthenticated).toBe(1);
    await stillServes(world.transport());
  });

  it('fails a client with the wrong secret or none with UNAVAILABLE, not a hang', async () => {
    const wrong = createTransport({ ...world.config, secret: testSecret() });
    const none = createTransport({ ...world.config, secret: undefined });
    for (const client of [wrong, none]) {
      const started = Date.now();
      const err = await failure(client.request('echo', 'echo', 'let me in', { timeoutMs: 4_000 }));
      expect(err.code).toBe('UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2_000);
      await client.close();
    }
    expect(calls).toBe(0);
    expect(stats().unauthenticated).toBe(2);
    await stillServes(world.transport());
  });

  it('makes a client hang up on a server whose frames fail the check: UNAVAILABLE, saying why', async () => {
    const impostor = net.createServer((socket) => {
      socket.once('data', () =>
        socket.write(encodeFrame(encodeEnvelope({ type: 'reply', id: 'x', ok: true }), MAC_BYTES)),
      );
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(impostor.address() as net.AddressInfo).port}`;
    const client = createTransport({ ...world.config, services: { echo: { addresses: [at] } } });
    const err = await failure(client.request('echo', 'echo', 'hello', { timeoutMs: 4_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/failed authentication \(is TRANSPORT_SECRET the same\?\)/);
    await client.close();
    impostor.close();
  });

  it('refuses, at start, a secret shorter than 32 bytes', () => {
    expect(() => createTransport({ ...world.config, secret: 'too short' })).toThrow(
      /^TRANSPORT_SECRET is 9 bytes; it must be at least 32/,
    );
  });
});
