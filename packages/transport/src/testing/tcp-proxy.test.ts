/**
 * The fault proxy itself, on raw sockets against an echo server: the transports' fault
 * tests are only as good as the faults it really causes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHostPort } from '../endpoints.js';
import { sleep } from './index.js';
import { TcpProxy } from './tcp-proxy.js';

let echoServer: net.Server;
let proxy: TcpProxy | undefined;

beforeEach(async () => {
  echoServer = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
});
afterEach(async () => {
  await proxy?.close();
  await new Promise((resolve) => echoServer.close(resolve));
});

async function start(options: Partial<Parameters<typeof TcpProxy.start>[0]> = {}): Promise<TcpProxy> {
  const { port } = echoServer.address() as net.AddressInfo;
  proxy = await TcpProxy.start({ target: `127.0.0.1:${port}`, ...options });
  return proxy;
}

/** Connect through the proxy; `received` grows as bytes come back, `closed` tells how it ended. */
async function connect(address: string) {
  const socket = net.connect(parseHostPort(address));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<string>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on('close', () => resolve('closed'));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, received: () => Buffer.concat(chunks) };
}

describe('TcpProxy', () => {
  it('relays every byte in order both ways while slicing and delaying them', async () => {
    const faulty = await start({ latencyMs: 2, jitterMs: 3, sliceBytes: 700, sliceGapMs: 1, seed: 7 });
    const peer = await connect(faulty.address);
    const sent = randomBytes(100_000);
    peer.socket.write(sent);
    await expect.poll(() => peer.received().length, { timeout: 10_000 }).toBe(sent.length);
    expect(peer.received().equals(sent)).toBe(true);
    expect(faulty.stats).toMatchObject({ connections: 1, bytesToServer: sent.length, bytesToClient: sent.length });
    expect(faulty.stats.writes).toBeGreaterThan((2 * sent.length) / 700);
    peer.socket.destroy();
  });

  it('resets a connection after at most resetAfterBytes bytes, with an RST the peer sees', async () => {
    const faulty = await start({ resetAfterBytes: 1_000 });
    const peer = await connect(faulty.address);
    peer.socket.write(randomBytes(5_000));
    expect(await peer.closed).toBe('ECONNRESET');
    expect(peer.received().length).toBeLessThanOrEqual(1_000);
    expect(faulty.stats.resets.afterBytes).toBe(1);
    expect(faulty.stats.bytesToServer + faulty.stats.bytesToClient).toBeLessThanOrEqual(1_000);
  });

  it('holds everything during a stall and delivers it intact when it ends', async () => {
    const faulty = await start();
    await faulty.setBlackout('stall');
    const held = await connect(faulty.address); // accepted even now
    held.socket.write('held back');
    await sleep(100);
    expect(held.received().length).toBe(0);
    await faulty.setBlackout('none');
    await expect.poll(() => held.received().toString()).toBe('held back');
    held.socket.destroy();
  });

  it('refuses new connections while refusing, keeps live ones, and listens again on the same port', async () => {
    const faulty = await start();
    const live = await connect(faulty.address);
    await faulty.setBlackout('refuse');
    await expect(connect(faulty.address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    live.socket.write('still here');
    await expect.poll(() => live.received().toString()).toBe('still here');
    await faulty.setBlackout('none');
    const again = await connect(faulty.address);
    faulty.resetAll();
    expect(await Promise.all([live.closed, again.closed])).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(faulty.stats.resets.all).toBe(2);
    expect(faulty.liveConnections).toBe(0);
  });
});
