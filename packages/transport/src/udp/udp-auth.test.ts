/**
 * UDP with TRANSPORT_SECRET: a raw dgram socket sends what an attacker could (unsigned,
 * signed with another key, an old timestamp, a real client's datagram captured and sent
 * again byte for byte) to a real server, which must run nothing and answer nothing while
 * a real client keeps being served; and a client must drop replies that fail the check.
 */
import dgram from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../envelope.js';
import { createTransport } from '../factory.js';
import { REPLAY_WINDOW_MS, SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, failure, sleep, testSecret } from '../testing/index.js';
import { rawUdpPeer } from '../testing/raw-udp-peer.js';
import { UdpTransport, type UdpServer } from './index.js';

const SECRET = testSecret();

let world: TestWorld;
let server: UdpServer;
let calls: number;

beforeEach(async () => {
  calls = 0;
  world = new TestWorld('udp', { secret: SECRET });
  server = (await world.serve('echo', {
    echo: (payload) => {
      calls++;
      return payload;
    },
  })) as UdpServer;
});
afterEach(() => world.close());

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

/** A request datagram signed with `secret` at `now`, as a client would send it. */
function signedRequest(secret: string, id: string, now = Date.now()): Buffer {
  const message = requestMessage(id, 'forged');
  const datagram = Buffer.concat([Buffer.alloc(SEALED_HEADER_BYTES), message]);
  new Sealer(secretBytes(secret)).seal(datagram, SEALED.udpToServer, now);
  return datagram;
}

describe('UDP with TRANSPORT_SECRET', () => {
  it('serves a client holding the secret', async () => {
    const client = world.transport();
    expect(await client.request('echo', 'echo', { hi: 'signed' })).toEqual({ hi: 'signed' });
    expect(calls).toBe(1);
    expect(server.stats).toMatchObject({ requests: 1, unauthenticated: 0, stale: 0, replayed: 0 });
  });

  it('drops unsigned, wrong-key and stale datagrams without running or answering anything', async () => {
    const client = world.transport();
    const peer = await rawUdpPeer(server.address);
    const forged = [
      requestMessage('a', 'unsigned'),
      signedRequest(testSecret(), 'b'),
      signedRequest(SECRET, 'c').subarray(0, 60), // cut short
      Buffer.concat([signedRequest(SECRET, 'd'), Buffer.from(' ')]), // one byte added
      signedRequest(SECRET, 'e', Date.now() - REPLAY_WINDOW_MS - 5_000),
      signedRequest(SECRET, 'f', Date.now() + REPLAY_WINDOW_MS + 5_000),
    ];
    for (const datagram of forged) {
      await peer.send(datagram);
      expect(await client.request('echo', 'echo', 'meanwhile')).toBe('meanwhile');
    }
    await eventually(() => expect(server.stats.received).toBe(2 * forged.length));
    await sleep(100); // time for a reply, if one were coming
    expect(peer.received).toEqual([]);
    expect(calls).toBe(forged.length); // the real client's calls only
    expect(server.stats).toMatchObject({ unauthenticated: 4, stale: 2, replayed: 0, malformed: 0 });
    peer.close();
  });

  it("drops a real client's datagram captured and sent again byte for byte", async () => {
    // A fake server records what a real client sends.
    const recorder = dgram.createSocket('udp4');
    const captured: Buffer[] = [];
    recorder.on('message', (datagram) => captured.push(datagram));
    await new Promise<void>((resolve) => recorder.bind(0, '127.0.0.1', resolve));
    const recorderAddress = `127.0.0.1:${recorder.address().port}`;
    const victim = createTransport({
      ...world.config,
      services: { echo: { addresses: [recorderAddress], listen: '' } },
    });
    await failure(victim.request('echo', 'echo', 'pay bob 10', { timeoutMs: 200 }));
    await victim.close();
    recorder.close();
    const recording = captured[0]!;

    const attacker = await rawUdpPeer(server.address);
    await attacker.send(recording); // the first delivery: the server never saw it
    await eventually(() => expect(attacker.received).toHaveLength(1));
    expect(calls).toBe(1);
    await attacker.send(recording);
    await attacker.send(recording);
    await eventually(() => expect(server.stats.replayed).toBe(2));
    await sleep(100);
    expect(attacker.received).toHaveLength(1); // not even the cached reply again
    expect(calls).toBe(1);
    expect(await world.transport().request('echo', 'echo', 'meanwhile')).toBe('meanwhile');
    attacker.close();
  });

  it('makes a client drop replies that fail the check: the call runs out its deadline', async () => {
    // An impostor answers every datagram with the right reply id, unsigned.
    const impostor = dgram.createSocket('udp4');
    impostor.on('message', (datagram, from) => {
      const { id } = decodeEnvelope(datagram.subarray(SEALED_HEADER_BYTES)) as { id: string };
      impostor.send(encodeEnvelope({ type: 'reply', id, ok: true, result: 'trust me' }), from.port, from.address);
    });
    await new Promise<void>((resolve) => impostor.bind(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${impostor.address().port}`;
    const client = createTransport({ ...world.config, services: { echo: { addresses: [address], listen: '' } } });
    const err = await failure(client.request('echo', 'echo', 'hello', { timeoutMs: 400 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    const udp = client.for('echo') as UdpTransport;
    expect(udp.stats.unauthenticated).toBeGreaterThanOrEqual(2); // the first send and a retransmission
    await client.close();
    impostor.close();
  });
});
