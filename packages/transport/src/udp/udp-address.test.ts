/**
 * Reflection and amplification (address-check.ts), with and without TRANSPORT_SECRET. Sources
 * cannot be forged without root, so the victim is played by a raw dgram socket that sends a
 * request from its own address and never learned a cookie, just as a victim whose address an
 * attacker wrote would be: what that socket receives is what a victim would. A big reply must not
 * reach it until it returns the cookie; a subscription from it must bring it no events; a real
 * client and subscriber notice nothing but one extra round trip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../envelope.js';
import { SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes } from '../signing.js';
import { TestWorld, eventually, sleep, testSecret } from '../testing/index.js';
import { rawUdpPeer, type RawUdpPeer } from '../testing/raw-udp-peer.js';
import { UdpProxy } from '../testing/udp-proxy.js';
import { AddressCheck, COOKIE_BYTES } from './address-check.js';
import { UdpTransport, type UdpServer } from './index.js';

/** The size of the reply in the measurement (21,133 bytes for a 231-byte request). */
const BIG = 'x'.repeat(21_000);
const TRACEPARENT = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

let world: TestWorld;
const proxies: UdpProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await world.close();
});

const total = (datagrams: Buffer[]): number => datagrams.reduce((sum, d) => sum + d.length, 0);

describe.each([
  ['without a secret', undefined],
  ['with TRANSPORT_SECRET', testSecret()],
])('UDP address validation %s', (_name, secret) => {
  const sealer = secret === undefined ? undefined : new Sealer(secretBytes(secret));

  /** A datagram as a client would send it: sealed when there is a secret. */
  function datagram(envelope: Envelope): Buffer {
    if (sealer === undefined) return encodeEnvelope(envelope);
    const bytes = encodeEnvelope(envelope, SEALED_HEADER_BYTES);
    sealer.seal(bytes, SEALED.udpToServer);
    return bytes;
  }

  /** What a datagram from the server holds (its seal, if any, is the client's to check). */
  function opened(bytes: Buffer): Envelope {
    return decodeEnvelope(sealer === undefined ? bytes : bytes.subarray(SEALED_HEADER_BYTES));
  }

  function request(id: string, cookie?: Buffer): Envelope {
    return {
      type: 'request',
      id,
      service: 'posts',
      method: 'timeline',
      payload: { userId: '7c2f6a0e-1d2b-4c3a-9f8e-5a6b7c8d9e0f', limit: 50 },
      timeoutMs: 2_000,
      traceparent: TRACEPARENT,
      cookie,
    };
  }

  async function postsServer(): Promise<{ server: UdpServer; runs: () => number }> {
    world = new TestWorld('udp', { secret });
    let runs = 0;
    const server = (await world.serve('posts', {
      timeline: () => {
        runs++;
        return BIG;
      },
      echo: (payload) => payload,
    })) as UdpServer;
    return { server, runs: () => runs };
  }

  it('sends a source that has not proven its address no more bytes than it sent, then the whole reply for the cookie', async () => {
    const { server, runs } = await postsServer();
    const victim = await rawUdpPeer(server.address);
    const sent = datagram(request('r1'));
    await victim.send(sent);
    await eventually(() => expect(victim.received).toHaveLength(1));
    await sleep(100); // time for more, if more were coming
    // Before: 21,1xx bytes came back for ~240 sent. Now: a retry, no bigger than the request.
    expect(total(victim.received)).toBeLessThanOrEqual(sent.length);
    const retry = opened(victim.received[0]!);
    expect(retry).toMatchObject({ type: 'retry', id: 'r1' });
    const { cookie } = retry as Extract<Envelope, { type: 'retry' }>;
    expect(cookie).toHaveLength(COOKIE_BYTES);
    expect(runs()).toBe(1); // it ran; the reply waits in the cache
    expect(server.stats.addressChallenges).toBe(1);

    // Only a socket that receives at that address learns the cookie: sent back, the reply comes.
    await victim.send(datagram(request('r1', Buffer.from(cookie))));
    await eventually(() => expect(victim.received).toHaveLength(2));
    expect(opened(victim.received[1]!)).toEqual({ type: 'reply', id: 'r1', ok: true, result: BIG });
    expect(runs()).toBe(1);
    // And with every later request, at once.
    await victim.send(datagram(request('r2', Buffer.from(cookie))));
    await eventually(() => expect(victim.received).toHaveLength(3));
    expect(opened(victim.received[2]!)).toMatchObject({ type: 'reply', id: 'r2', ok: true });
    expect(server.stats.addressChallenges).toBe(1);
    victim.close();
  });

  it('refuses a cookie made for another address or port, and a reply no bigger than the request needs none', async () => {
    const { server } = await postsServer();
    const holder = await rawUdpPeer(server.address);
    await holder.send(datagram(request('r1')));
    await eventually(() => expect(holder.received).toHaveLength(1));
    const { cookie } = opened(holder.received[0]!) as Extract<Envelope, { type: 'retry' }>;

    // Another socket (another port) with the holder's cookie: still a retry, for its own address.
    const other = await rawUdpPeer(server.address);
    const sent = datagram(request('r1', Buffer.from(cookie)));
    await other.send(sent);
    await eventually(() => expect(other.received).toHaveLength(1));
    expect(total(other.received)).toBeLessThanOrEqual(sent.length);
    const retry = opened(other.received[0]!) as Extract<Envelope, { type: 'retry' }>;
    expect(retry.type).toBe('retry');
    expect(retry.cookie.equals(cookie)).toBe(false);

    // A small answer goes straight back, cookie or not: it amplifies nothing.
    const echo: Envelope = {
      type: 'request',
      id: 'e1',
      service: 'posts',
      method: 'echo',
      payload: 'hi',
      timeoutMs: 2_000,
    };
    await other.send(datagram(echo));
    await eventually(() => expect(other.received).toHaveLength(2));
    expect(opened(other.received[1]!)).toEqual({ type: 'reply', id: 'e1', ok: true, result: 'hi' });
    holder.close();
    other.close();
  });

  it('gives a UdpTransport client its 21 KB replies transparently: one extra round trip per server, then none', async () => {
    const { server, runs } = await postsServer();
    const network = await UdpProxy.start({ target: server.address });
    proxies.push(network);
    world.config.services.posts = { listen: server.address, addresses: [network.address] };
    const client = world.transport();

    const udp = client.for('posts') as UdpTransport;
    // Datagrams the client sent, apart from timed retransmissions (a loaded machine may add some).
    const sent = (): number => network.stats.toServer.received - udp.stats.retransmissions;

    expect(await client.request('posts', 'timeline', {})).toBe(BIG);
    expect(sent()).toBe(2); // the request, then again with the cookie the retry brought
    for (let i = 0; i < 5; i++) expect(await client.request('posts', 'timeline', {})).toBe(BIG);
    expect(sent()).toBe(7); // the cookie kept: one datagram per call
    expect(runs()).toBe(6);
    expect(udp.stats.addressChallenges).toBe(1);
    expect(server.stats).toMatchObject({ addressChallenges: 1, requests: 6 });
  });

  it('registers a subscription only from an address that answers the challenge', async () => {
    world = new TestWorld('udp', { secret });
    const publisher = world.transport();
    const server = (await world.serve('posts', {}, publisher)) as UdpServer;

    // The victim's address subscribed to every post.created (it never answers the retry).
    const victim: RawUdpPeer = await rawUdpPeer(server.address);
    const subscribe = datagram({
      type: 'subscribe',
      id: 'sub1',
      subscriptionId: 'victim-subscription',
      topic: 'post.created',
      ttlMs: 600_000,
    });
    await victim.send(subscribe);
    await eventually(() => expect(victim.received).toHaveLength(1));
    expect(opened(victim.received[0]!)).toMatchObject({ type: 'retry', id: 'sub1' });
    expect(total(victim.received)).toBeLessThanOrEqual(subscribe.length);

    // A real subscriber answers it without noticing.
    const seen: unknown[] = [];
    await world.transport().subscribe('posts', 'post.created', (event) => void seen.push(event));
    expect(server.registry.targets('post.created')).toHaveLength(1);
    for (let n = 1; n <= 3; n++) await publisher.publish('posts', 'post.created', { n, text: 'x'.repeat(500) });
    await eventually(() => expect(seen).toEqual([1, 2, 3].map((n) => ({ n, text: 'x'.repeat(500) }))));
    await sleep(100);
    expect(victim.received).toHaveLength(1); // the retry, and no event
    expect(server.stats.eventsSent).toBe(3);
    victim.close();
  });
});

describe('AddressCheck', () => {
  it('takes a cookie only from its address and port, for this period and the one before', () => {
    let now = 1_000_000;
    const check = new AddressCheck(60_000, () => now);
    const cookie = check.cookieFor('10.0.0.1', 4000);
    expect(cookie).toHaveLength(COOKIE_BYTES);
    expect(check.verify(cookie, '10.0.0.1', 4000)).toBe(true);
    expect(check.verify(cookie, '10.0.0.1', 4001)).toBe(false);
    expect(check.verify(cookie, '10.0.0.2', 4000)).toBe(false);
    expect(check.verify(undefined, '10.0.0.1', 4000)).toBe(false);
    expect(check.verify(cookie.subarray(0, 8), '10.0.0.1', 4000)).toBe(false);
    expect(new AddressCheck(60_000, () => now).verify(cookie, '10.0.0.1', 4000)).toBe(false); // another key
    now += 60_000;
    expect(check.verify(cookie, '10.0.0.1', 4000)).toBe(true);
    expect(check.cookieFor('10.0.0.1', 4000).equals(cookie)).toBe(false);
    now += 60_000;
    expect(check.verify(cookie, '10.0.0.1', 4000)).toBe(false);
  });
});
