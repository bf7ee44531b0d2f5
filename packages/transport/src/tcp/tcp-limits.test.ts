/**
 * What strangers can hold on a TCP server (limits.ts), attacked the way the finding did, with
 * and without TRANSPORT_SECRET: raw `node:net` sockets against a real server in this process,
 * while a real client keeps calling. Attackers connect from 127.0.0.2 (Linux routes all of
 * 127/8 to loopback), so the per-peer cap is theirs and the client at 127.0.0.1 is another peer.
 * Timeouts are set small here; the defaults are in config.ts.
 */
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TCP_LIMITS, transportConfigFromEnv, type TcpLimits } from '../config.js';
import { parseHostPort } from '../endpoints.js';
import { encodeEnvelope } from '../envelope.js';
import type { RoutedTransport } from '../factory.js';
import { MAC_BYTES, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, sleep, testSecret } from '../testing/index.js';
import { encodeFrame } from './framing.js';
import { TcpTransport } from './index.js';
import type { TcpConnectionStats } from './limits.js';
import { UNSIGNED_HELLO, openSession } from './session.js';

const ATTACKER = '127.0.0.2';
const MIB = 1024 * 1024;
const LIMITS: TcpLimits = {
  ...DEFAULT_TCP_LIMITS,
  maxConnections: 10_000,
  maxConnectionsPerPeer: 10_000,
  helloTimeoutMs: 400,
  frameTimeoutMs: 1_000,
  idleTimeoutMs: 1_500,
};
/** A timeout acts between 1 and 1.25 times its value (one sweep); the rest is a loaded machine's slack. */
const late = (timeoutMs: number): number => timeoutMs * 1.25 + 1_000;
/** A normal client's median call while strangers attack: about 0.5 ms measured, 50× that allowed. */
const NORMAL_CALL_MS = 25;

/** A raw connection and when (ms after it was opened) the server hung up on it. */
interface RawPeer {
  socket: net.Socket;
  closedAfterMs: Promise<number>;
}

describe.each([
  ['without a secret', undefined],
  ['with TRANSPORT_SECRET', testSecret()],
])('TCP server limits, %s', (_name, secret) => {
  let world: TestWorld;
  let server: RoutedTransport;
  let address: { host: string; port: number };

  async function start(limits: Partial<TcpLimits> = {}): Promise<void> {
    world = new TestWorld('tcp', { secret, tcpLimits: { ...LIMITS, ...limits } });
    server = world.transport();
    const listener = await world.serve('echo', { echo: (payload) => payload }, server);
    address = parseHostPort(listener.address);
  }
  beforeEach(() => start());
  afterEach(() => world.close());

  function stats(): TcpConnectionStats {
    const tcp = server.for('echo');
    if (!(tcp instanceof TcpTransport)) throw new Error('expected the tcp transport');
    return tcp.connectionStats;
  }

  async function connect(from = ATTACKER): Promise<RawPeer> {
    const socket = net.connect({ ...address, localAddress: from });
    socket.on('error', () => {}); // a reset is how a server may hang up
    socket.resume(); // reads what the server says last, and so sees it hang up
    const opened = Date.now();
    const closedAfterMs = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
    await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closedAfterMs]);
    return { socket, closedAfterMs };
  }

  /** The first frame a real client sends: its hello (signed with the secret, or the unsigned one). */
  function opening(): { hello: Buffer; seal: (frame: Buffer) => void; macBytes: number } {
    if (secret === undefined) return { hello: UNSIGNED_HELLO, seal: () => {}, macBytes: 0 };
    const { hello, auth } = openSession(new Sealer(secretBytes(secret)));
    return { hello, seal: (frame) => auth.seal(frame), macBytes: MAC_BYTES };
  }

  /** How long each peer lasted, or -1 for one still open after `withinMs`. */
  async function lifetimes(peers: RawPeer[], withinMs: number): Promise<number[]> {
    const gaveUp = sleep(withinMs).then(() => -1);
    const lasted = await Promise.all(peers.map((p) => Promise.race([p.closedAfterMs, gaveUp])));
    for (const peer of peers) peer.socket.destroy();
    return lasted;
  }

  /**
   * A real client calling every 20 ms until stopped. `stop` throws on any failure, and checks the
   * client kept its latency: the median call under NORMAL_CALL_MS, the server's event loop never
   * held up by the attackers (idle here, a call takes about 0.5 ms; the bound is generous because
   * this runs beside other tests on two cores).
   */
  function keepCalling(): { stop: () => Promise<void> } {
    const client = world.transport();
    let running = true;
    const durations: number[] = [];
    const loop = (async () => {
      while (running) {
        const start = performance.now();
        expect(await client.request('echo', 'echo', { n: durations.length })).toEqual({ n: durations.length });
        durations.push(performance.now() - start);
        await sleep(20);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        expect(durations.length).toBeGreaterThan(0);
        const median = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]!;
        expect(median, "the normal client's median call during the attack (ms)").toBeLessThan(NORMAL_CALL_MS);
      },
    };
  }

  it('holds 200 connections announcing a 1 MiB frame to a few bytes each, and closes every one', async () => {
    const calling = keepCalling();
    await sleep(100);
    // Every attacker writes the same buffer: what the process grows by is what the server keeps.
    const frame = Buffer.alloc(4 + MIB, 0x61);
    frame.writeUInt32BE(MIB, 0);
    const partial = frame.subarray(0, frame.length - 1_000);
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    const peers = await Promise.all(Array.from({ length: 200 }, () => connect()));
    for (const peer of peers) peer.socket.write(partial);
    const lasted = await lifetimes(peers, late(LIMITS.helloTimeoutMs));
    await sleep(200); // what the server read in that time has been measured
    clearInterval(sampler);
    const growthMb = (peak - before) / MIB;

    expect(lasted.filter((ms) => ms < 0)).toEqual([]); // every one closed by the server
    expect(Math.max(...lasted)).toBeLessThanOrEqual(late(LIMITS.helloTimeoutMs));
    expect(growthMb).toBeLessThanOrEqual(20);
    // Refused on its length prefix; on a busy machine one whose bytes come late meets the hello timeout first.
    const { oversizedFirstFrame, helloTimeout } = stats();
    expect(oversizedFirstFrame + helloTimeout).toBe(200);
    expect(oversizedFirstFrame).toBeGreaterThan(150);
    await calling.stop();
  });

  it('closes connections that send nothing, or half a hello, within the hello timeout', async () => {
    const calling = keepCalling();
    const idle = await Promise.all(Array.from({ length: 250 }, () => connect()));
    const halfHello = await Promise.all(Array.from({ length: 250 }, () => connect()));
    for (const peer of halfHello) peer.socket.write(opening().hello.subarray(0, 20));
    const lasted = await lifetimes([...idle, ...halfHello], late(LIMITS.helloTimeoutMs));

    expect(lasted.filter((ms) => ms < 0)).toEqual([]);
    expect(Math.min(...lasted)).toBeGreaterThanOrEqual(LIMITS.helloTimeoutMs - 50);
    expect(stats().helloTimeout).toBe(500);
    await calling.stop();
  });

  it('closes a slowloris (one byte every 200 ms of a started frame) at the frame timeout', async () => {
    const calling = keepCalling();
    const peers = await Promise.all(Array.from({ length: 100 }, () => connect()));
    const drips: NodeJS.Timeout[] = [];
    for (const peer of peers) {
      const { hello, macBytes } = opening();
      const header = Buffer.alloc(4);
      header.writeUInt32BE(macBytes + 1_000);
      peer.socket.write(Buffer.concat([hello, header]));
      drips.push(setInterval(() => peer.socket.writable && peer.socket.write('x'), 200));
    }
    const lasted = await lifetimes(peers, late(LIMITS.frameTimeoutMs));
    drips.forEach(clearInterval);

    expect(lasted.filter((ms) => ms < 0)).toEqual([]);
    expect(Math.min(...lasted)).toBeGreaterThanOrEqual(LIMITS.frameTimeoutMs - 50);
    expect(stats().frameTimeout).toBe(100);
    await calling.stop();
  });

  it('closes a connection idle after its first call, but a quiet client and a subscriber keep working', async () => {
    const quiet = world.transport();
    const subscriber = world.transport();
    const events: unknown[] = [];
    await subscriber.subscribe('echo', 'news', (event) => void events.push(event));
    expect(await quiet.request('echo', 'echo', 'before')).toBe('before');
    const { hello, seal, macBytes } = opening();
    const request = encodeFrame(
      encodeEnvelope({ type: 'request', id: 'r1', service: 'echo', method: 'echo', payload: 1, timeoutMs: 1_000 }),
      macBytes,
    );
    seal(request);
    const idler = await connect();
    idler.socket.write(Buffer.concat([hello, request]));
    const [lasted] = await lifetimes([idler], late(LIMITS.idleTimeoutMs));

    expect(lasted).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
    expect(lasted).toBeLessThanOrEqual(late(LIMITS.idleTimeoutMs));
    // Only the stranger's: the quiet client closed its own connection first, the subscriber's stays.
    expect(stats().idleTimeout).toBe(1);
    // Quiet for longer than the idle timeout, yet its next call and the publisher's next event arrive.
    expect(await quiet.request('echo', 'echo', 'after')).toBe('after');
    await server.publish('echo', 'news', { n: 1 });
    await eventually(() => expect(events).toEqual([{ n: 1 }]));
  });

  it('refuses connections over the per-peer cap at once, and serves other peers', async () => {
    await world.close();
    await start({ maxConnectionsPerPeer: 20 });
    const calling = keepCalling();
    const held = await Promise.all(Array.from({ length: 20 }, () => connect()));
    for (const peer of held) peer.socket.write(opening().hello);
    const refused = await Promise.all(Array.from({ length: 30 }, () => connect()));
    const lasted = await lifetimes(refused, 500);

    expect(lasted.filter((ms) => ms < 0)).toEqual([]);
    expect(stats().overPeerLimit).toBe(30);
    // Another address is another peer: a new client connects and is served.
    expect(await world.transport().request('echo', 'echo', 'new peer')).toBe('new peer');
    await calling.stop();
    held.forEach((peer) => peer.socket.destroy());
  });

  it('refuses connections over the per-process cap at once, and keeps serving open ones', async () => {
    await world.close();
    await start({ maxConnections: 25 });
    const calling = keepCalling();
    await sleep(50); // its connection is one of the 25
    const attempts = await Promise.all(Array.from({ length: 40 }, () => connect()));
    for (const peer of attempts) if (!peer.socket.destroyed) peer.socket.write(opening().hello);
    const lasted = await lifetimes(attempts, 300);

    expect(lasted.filter((ms) => ms >= 0)).toHaveLength(16);
    expect(stats().overProcessLimit).toBe(16);
    await calling.stop();
  });
});

describe('TCP limits from the environment', () => {
  it('reads each TCP_* limit, keeps the defaults for the rest, and refuses a value that is not a positive integer', () => {
    const env = { TCP_MAX_CONNECTIONS_PER_PEER: '8', TCP_HELLO_TIMEOUT_MS: '250', TCP_IDLE_TIMEOUT_MS: '60000' };
    expect(transportConfigFromEnv(env, {}).tcpLimits).toEqual({
      ...DEFAULT_TCP_LIMITS,
      maxConnectionsPerPeer: 8,
      helloTimeoutMs: 250,
      idleTimeoutMs: 60_000,
    });
    expect(transportConfigFromEnv({}, {}).tcpLimits).toEqual(DEFAULT_TCP_LIMITS);
    expect(() => transportConfigFromEnv({ TCP_FRAME_TIMEOUT_MS: '0' }, {})).toThrow(
      /TCP_FRAME_TIMEOUT_MS=0 must be a positive integer/,
    );
  });
});
