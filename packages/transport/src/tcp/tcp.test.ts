/**
 * What only TCP can get wrong: a byte stream from a peer that does not follow the framing.
 * A raw `node:net` socket plays the misbehaving peer; a real client checks that everyone
 * else is still served.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../envelope.js';
import { parseHostPort } from '../endpoints.js';
import { TestWorld, eventually, freePort } from '../testing/index.js';
import { FrameDecoder, encodeFrame } from './framing.js';

let world: TestWorld;
let address: string;

beforeEach(async () => {
  world = new TestWorld('tcp');
  address = (await world.serve('echo', { echo: (payload) => payload })).address;
});
afterEach(() => world.close());

/** A raw connection that collects every frame the server sends and notices when it hangs up. */
async function rawPeer(): Promise<{ socket: net.Socket; received: Envelope[]; closed: Promise<void> }> {
  const socket = net.connect(parseHostPort(address));
  await new Promise((resolve) => socket.once('connect', resolve));
  const decoder = new FrameDecoder(1 << 20);
  const received: Envelope[] = [];
  socket.on('data', (chunk) => decoder.push(chunk).forEach((f) => received.push(decodeEnvelope(f.toString()))));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received, closed };
}

async function stillServes(): Promise<void> {
  expect(await world.transport().request('echo', 'echo', 'ok')).toBe('ok');
}

describe('TCP server under bad input', () => {
  it('refuses a frame announcing more than the maximum, says why, and hangs up', async () => {
    const peer = await rawPeer();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0x7fffffff);
    peer.socket.write(header);
    await peer.closed;
    expect(peer.received).toEqual([
      { type: 'error', error: { code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/exceeds the maximum/) } },
    ]);
    await stillServes();
  });

  it('refuses a zero-length frame and hangs up', async () => {
    const peer = await rawPeer();
    peer.socket.write(Buffer.alloc(4));
    await peer.closed;
    expect(peer.received[0]).toMatchObject({ type: 'error', error: { code: 'INVALID_ARGUMENT' } });
    await stillServes();
  });

  it('answers a well-framed message that is not JSON with an error, and keeps the connection', async () => {
    const peer = await rawPeer();
    peer.socket.write(encodeFrame('{"type": "request", oops'));
    peer.socket.write(
      encodeFrame(
        encodeEnvelope({
          type: 'request',
          id: 'r1',
          service: 'echo',
          method: 'echo',
          payload: 7,
          timeoutMs: 1000,
        }),
      ),
    );
    await eventually(() => expect(peer.received).toHaveLength(2));
    expect(peer.received[0]).toEqual({
      type: 'error',
      error: { code: 'INVALID_ARGUMENT', message: 'malformed message: message is not valid JSON' },
    });
    expect(peer.received[1]).toEqual({ type: 'reply', id: 'r1', ok: true, result: 7 });
    peer.socket.destroy();
  });

  it('answers a request missing fields with INVALID_ARGUMENT for that request id', async () => {
    const peer = await rawPeer();
    peer.socket.write(encodeFrame(JSON.stringify({ type: 'request', id: 'r2', service: 'echo', timeoutMs: 1000 })));
    peer.socket.write(
      encodeFrame(JSON.stringify({ type: 'request', id: 'r3', service: 'echo', method: 'echo', timeoutMs: -5 })),
    );
    peer.socket.write(encodeFrame(JSON.stringify({ type: 'event', subscriptionId: 's', topic: 't' })));
    await eventually(() => expect(peer.received).toHaveLength(3));
    expect(peer.received).toEqual([
      {
        type: 'reply',
        id: 'r2',
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: 'malformed message: request.method must be a non-empty string' },
      },
      {
        type: 'reply',
        id: 'r3',
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: 'malformed message: request.timeoutMs must be a positive number' },
      },
      { type: 'error', error: { code: 'INVALID_ARGUMENT', message: 'tcp: a server does not accept event messages' } },
    ]);
    peer.socket.destroy();
  });

  it('survives random garbage from many peers at once', async () => {
    const peers = await Promise.all(Array.from({ length: 20 }, () => rawPeer()));
    for (const peer of peers)
      peer.socket.write(Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256))));
    await Promise.all(peers.map((p) => Promise.race([p.closed, new Promise((r) => setTimeout(r, 200))])));
    await stillServes();
    peers.forEach((p) => p.socket.destroy());
  });
});

describe('TCP client load balancing', () => {
  it('spreads calls over the live endpoints and takes a dead one out of rotation', async () => {
    const second = new TestWorld('tcp');
    const other = (await second.serve('echo', { echo: () => 'second' })).address;
    const dead = `127.0.0.1:${await freePort()}`;
    world.config.services.echo = { listen: address, addresses: [address, dead, other] };
    const client = world.transport();
    const answers: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      try {
        answers.push(await client.request('echo', 'echo', 'first'));
      } catch (err) {
        answers.push((err as { code: string }).code);
      }
    }
    // The dead endpoint may cost a call or two before it sits out; the rest are answered by both live ones.
    expect(answers.filter((a) => a === 'UNAVAILABLE').length).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a === 'first').length).toBeGreaterThan(5);
    expect(answers.filter((a) => a === 'second').length).toBeGreaterThan(5);
    await second.close();
  });
});
