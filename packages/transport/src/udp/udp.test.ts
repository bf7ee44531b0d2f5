/**
 * What only UDP can get wrong: lost, duplicated and reordered datagrams (through UdpProxy),
 * garbage from an unauthenticated sender (a raw dgram socket), a peer that vanishes and
 * comes back on the same port, and event registrations that must be renewed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import { MESSAGE_TYPE, decodeEnvelope, encodeEnvelope } from '../envelope.js';
import { TransportError } from '../errors.js';
import type { RoutedTransport } from '../factory.js';
import { TestWorld, eventually, freePort, sleep } from '../testing/index.js';
import { rawUdpPeer } from '../testing/raw-udp-peer.js';
import { rawBatch, rawLength, rawMessage } from '../testing/wire.js';
import { UdpProxy, type UdpProxyOptions } from '../testing/udp-proxy.js';
import type { Handlers } from '../transport.js';
import { UdpTransport, type UdpServer } from './index.js';
import { decodeBatch } from './batch.js';
import { ReplyCache } from './reply-cache.js';

const echo: Handlers = { echo: (payload) => payload };

let world: TestWorld;
const proxies: UdpProxy[] = [];

beforeEach(() => {
  world = new TestWorld('udp');
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await world.close();
});

async function proxy(options: UdpProxyOptions): Promise<UdpProxy> {
  const started = await UdpProxy.start(options);
  proxies.push(started);
  return started;
}

/** Point callers of `service` at `address` (e.g. a proxy) while it keeps listening where it is. */
function routeVia(service: string, address: string): void {
  const listen = world.config.services[service]?.listen ?? address;
  world.config.services[service] = { listen, addresses: [address] };
}

function udpOf(client: RoutedTransport, service: string): UdpTransport {
  const transport = client.for(service);
  if (!(transport instanceof UdpTransport)) throw new Error('expected the udp transport');
  return transport;
}

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

function request(id: string, payload: unknown, method = 'echo', service = 'echo'): Buffer {
  return encodeEnvelope({ type: 'request', id, service, method, payload, timeoutMs: 2_000 });
}

describe('UDP through a lossy network', () => {
  it('answers 300 requests despite 10% loss each way, duplicates and reordering, running each once', async () => {
    const runs = new Map<number, number>();
    const server = (await world.serve('counter', {
      count: async (payload) => {
        const { n } = payload as { n: number };
        runs.set(n, (runs.get(n) ?? 0) + 1);
        await sleep(n % 4); // some retransmissions arrive while the handler still runs
        return { n };
      },
    })) as UdpServer;
    const lossy = await proxy({
      target: server.address,
      loss: 0.1,
      duplicate: 0.05,
      reorder: 0.1,
      maxDelayMs: 30,
      seed: 141,
    });
    routeVia('counter', lossy.address);
    const client = world.transport();

    // 20 callers, 15 sequential requests each: a steady stream rather than one burst.
    const replies: unknown[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, worker) => {
        for (let i = 0; i < 15; i++) {
          const n = worker * 15 + i;
          replies[n] = await client.request('counter', 'count', { n }, { timeoutMs: 15_000 });
        }
      }),
    );

    expect(replies).toEqual(Array.from({ length: 300 }, (_, n) => ({ n })));
    expect([...runs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(server.stats.requests).toBe(300);
    // The faults did happen, and were absorbed by retransmission and the reply cache.
    expect(lossy.stats.toServer.dropped).toBeGreaterThan(10);
    expect(lossy.stats.toClient.dropped).toBeGreaterThan(10);
    expect(lossy.stats.toServer.duplicated + lossy.stats.toClient.duplicated).toBeGreaterThan(5);
    expect(udpOf(client, 'counter').stats.retransmissions).toBeGreaterThan(20);
    expect(server.stats.duplicatesAnswered).toBeGreaterThan(10);
  });

  it('keeps a request alive through a blackout shorter than its deadline', async () => {
    const server = (await world.serve('echo', echo)) as UdpServer;
    const network = await proxy({ target: server.address });
    routeVia('echo', network.address);
    const client = world.transport();
    network.faults.lossToServer = 1;
    const reply = client.request('echo', 'echo', 'patience', { timeoutMs: 3_000 });
    await sleep(400);
    network.faults.lossToServer = 0;
    expect(await reply).toBe('patience');
    expect(network.stats.toServer.dropped).toBeGreaterThanOrEqual(3); // 50, 100, 200 ms…
  });

  it('makes the same fault decisions for the same seed', async () => {
    const target = `127.0.0.1:${await freePort()}`;
    const runs = await Promise.all([1, 2].map(() => proxy({ target, loss: 0.3, duplicate: 0.2, seed: 7 })));
    for (const p of runs) {
      const peer = await rawUdpPeer(p.address);
      for (let i = 0; i < 100; i++) await peer.send(`datagram ${i}`);
      peer.socket.close();
    }
    await eventually(() => runs.forEach((p) => expect(p.stats.toServer.received).toBe(100)));
    expect(runs[0]!.stats).toEqual(runs[1]!.stats);
    expect(runs[0]!.stats.toServer.dropped).toBeGreaterThan(15);
  });
});

describe('UDP server under bad input', () => {
  it('drops garbage without replying, counts it, and keeps serving', async () => {
    world = new TestWorld('udp', { maxMessageBytes: { ...DEFAULT_MAX_MESSAGE_BYTES, udp: 4_096 } });
    const server = (await world.serve('echo', echo)) as UdpServer;
    const peer = await rawUdpPeer(server.address);
    const garbage: Array<string | Buffer> = [
      Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) % 256)), // random bytes
      Buffer.alloc(0),
      '{"type": "request", "id": "r0"}', // a JSON envelope, as older peers sent: an unknown type
      rawMessage(0x7f, 'r1'), // unknown type
      rawMessage(MESSAGE_TYPE.request, 1000, 'r2', 'echo'), // no method: cut short
      rawMessage(MESSAGE_TYPE.request, 1000, 'r3', 'echo', rawLength(40), 'echo'), // a length past the end
      rawMessage(MESSAGE_TYPE.request, -5, 'r4', 'echo', 'echo', null, null),
      rawMessage(MESSAGE_TYPE.request, 1000, 'r5', 'echo', 'echo', null, null, Buffer.from('{oops')), // body not JSON
      rawMessage(MESSAGE_TYPE.subscribe, NaN, 'r6', '', 'x', null), // an empty subscriptionId
      encodeEnvelope({ type: 'reply', id: 'r5', ok: true, result: 1 }), // a type servers do not take
      encodeEnvelope({ type: 'event', subscriptionId: 's', topic: 't' }),
    ];
    for (const datagram of garbage) await peer.send(datagram);
    await peer.send(request('big', 'x'.repeat(5_000))); // over this world's 4,096-byte limit

    await eventually(() => expect(server.stats.received).toBe(garbage.length + 1));
    expect(server.stats.malformed).toBe(garbage.length);
    expect(server.stats.oversized).toBe(1);
    expect(server.stats.requests).toBe(0);

    // The same socket does get answers to a real request, so the silence above was a choice.
    await peer.send(request('real', 'hello'));
    await eventually(() => expect(peer.received).toHaveLength(1));
    expect(decodeEnvelope(peer.received[0]!)).toEqual({ type: 'reply', id: 'real', ok: true, result: 'hello' });
    peer.socket.close();
    expect(await world.transport().request('echo', 'echo', 'still here')).toBe('still here');
  });

  it('runs every request of a batch and answers them in one datagram, and drops a batch with one bad message whole', async () => {
    let runs = 0;
    const server = (await world.serve('echo', { echo: (payload) => (runs++, payload) })) as UdpServer;
    const peer = await rawUdpPeer(server.address);
    await peer.send(rawBatch([request('b1', 'one'), request('b2', 'two')]));
    await eventually(() => expect(peer.received).toHaveLength(1));
    expect(decodeBatch(peer.received[0]!).map(({ envelope }) => envelope)).toEqual([
      { type: 'reply', id: 'b1', ok: true, result: 'one' },
      { type: 'reply', id: 'b2', ok: true, result: 'two' },
    ]);
    expect(runs).toBe(2);

    const bad: Buffer[] = [
      rawBatch([request('b3', 'three'), rawMessage(0x7f, 'x')]), // an unknown type beside a request
      rawBatch([request('b4', 'four'), encodeEnvelope({ type: 'reply', id: 'r', ok: true, result: 1 })]),
      rawBatch([request('b5', 'five'), rawBatch([request('b6', 'six')])]), // a batch in a batch
      Buffer.concat([rawBatch([request('b7', 'seven')]), rawLength(40)]), // a length past the end
      rawBatch([request('b8', 'eight'), Buffer.alloc(0)]), // an empty message
      rawBatch([]),
    ];
    for (const datagram of bad) await peer.send(datagram);
    await eventually(() => expect(server.stats.received).toBe(1 + bad.length));
    await sleep(50); // time for a reply, if one were coming
    expect(server.stats.malformed).toBe(bad.length);
    expect(runs).toBe(2);
    expect(peer.received).toHaveLength(1);
    peer.socket.close();
  });

  it('sends the calls a client makes in one tick to a server in shared datagrams', async () => {
    const server = (await world.serve('echo', echo)) as UdpServer;
    const client = world.transport();
    expect(await client.request('echo', 'echo', 'warm')).toBe('warm');
    const payloads = Array.from({ length: 40 }, (_, i) => `call ${i}`);
    expect(await Promise.all(payloads.map((p) => client.request('echo', 'echo', p)))).toEqual(payloads);
    expect(server.stats.requests).toBe(41);
    // 40 requests of ~70 bytes, 1,400 bytes a batch: a handful of datagrams, not 40.
    expect(server.stats.received).toBeLessThanOrEqual(1 + 5);
  });

  it('runs a request once however often it arrives: ignored while running, answered from cache after', async () => {
    let runs = 0;
    const server = (await world.serve('echo', {
      slow: async () => {
        runs++;
        await sleep(100);
        return runs;
      },
    })) as UdpServer;
    const peer = await rawUdpPeer(server.address);
    const datagram = request('same-id', null, 'slow');
    await peer.send(datagram);
    await peer.send(datagram); // while the handler runs: ignored
    await eventually(() => expect(peer.received).toHaveLength(1));
    await peer.send(datagram); // after: the same reply again
    await peer.send(datagram);
    await eventually(() => expect(peer.received).toHaveLength(3));
    expect(runs).toBe(1);
    expect(new Set(peer.received.map((datagram) => datagram.toString('hex')))).toEqual(
      new Set([encodeEnvelope({ type: 'reply', id: 'same-id', ok: true, result: 1 }).toString('hex')]),
    );
    expect(server.stats).toMatchObject({ requests: 1, duplicatesIgnored: 1, duplicatesAnswered: 2 });

    // The id is only unique per sender: another socket with the same id is another request.
    const other = await rawUdpPeer(server.address);
    await other.send(datagram);
    await eventually(() => expect(other.received).toHaveLength(1));
    expect(runs).toBe(2);
    peer.socket.close();
    other.socket.close();
  });

  it('replaces a reply over the limit with RESOURCE_EXHAUSTED', async () => {
    const server = (await world.serve('echo', { ...echo, huge: () => 'x'.repeat(70_000) })) as UdpServer;
    const client = world.transport();
    const err = await rejection(client.request('echo', 'huge', {}));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toMatch(/reply is \d+ bytes, over this transport's limit of 65507 bytes/);
    expect(server.stats.oversizedReplies).toBe(1);
    expect(await client.request('echo', 'echo', 'small')).toBe('small');
  });
});

describe('UDP client and a server that goes away', () => {
  it('fails promptly while the server is down, and recovers once it is back on the same port', async () => {
    const first = await world.serve('echo', echo);
    const client = world.transport();
    expect(await client.request('echo', 'echo', 1)).toBe(1);
    await first.close();

    const started = Date.now();
    const whileDown = await rejection(client.request('echo', 'echo', 2, { timeoutMs: 3_000 }));
    expect(whileDown.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(500); // the ICMP refusal, not the deadline
    expect(udpOf(client, 'echo').stats.refused).toBeGreaterThanOrEqual(1);

    // The client keeps its socket: nothing to reconnect, only the endpoint's short sit-out to wait.
    await world.serve('echo', echo, world.transport(), first.address);
    const restarted = Date.now();
    expect(await eventually(() => client.request('echo', 'echo', 3, { timeoutMs: 500 }), 3_000, 20)).toBe(3);
    expect(Date.now() - restarted).toBeLessThan(1_000);
  });

  it('completes a request sent while the server was down once it restarts, if no refusal comes back', async () => {
    // Through the proxy no ICMP reaches the client (like a firewall that drops it): the
    // request is retransmitted until the restarted server answers it.
    const first = await world.serve('echo', echo);
    const network = await proxy({ target: first.address });
    routeVia('echo', network.address);
    const client = world.transport();
    expect(await client.request('echo', 'echo', 'before')).toBe('before');
    await first.close();
    const reply = client.request('echo', 'echo', 'across the restart', { timeoutMs: 5_000 });
    await sleep(300);
    await world.serve('echo', echo, world.transport(), first.address);
    expect(await reply).toBe('across the restart');
  });

  it('spreads calls over the live endpoints and takes a refusing one out of rotation', async () => {
    const one = await world.serve('echo', { echo: () => 'one' });
    const second = new TestWorld('udp');
    const two = await second.serve('echo', { echo: () => 'two' });
    const dead = `127.0.0.1:${await freePort()}`;
    world.config.services.echo = { listen: one.address, addresses: [one.address, dead, two.address] };
    const client = world.transport();
    const answers: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      answers.push(await client.request('echo', 'echo', null).catch((err: TransportError) => err.code));
    }
    expect(answers.filter((a) => a === 'UNAVAILABLE').length).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a === 'one').length).toBeGreaterThan(5);
    expect(answers.filter((a) => a === 'two').length).toBeGreaterThan(5);
    await second.close();
  });
});

describe('UDP event subscriptions', () => {
  const TTL_MS = 300; // renewed every 100 ms

  beforeEach(() => {
    world = new TestWorld('udp', { subscriptionTtlMs: TTL_MS });
  });

  it('renews registrations, so events reach the subscriber again after the publisher restarts', async () => {
    const publisher = world.transport();
    const first = (await world.serve('feed', {}, publisher)) as UdpServer;
    const seen: unknown[] = [];
    await world.transport().subscribe('feed', 'post.created', (event) => void seen.push(event));
    await publisher.publish('feed', 'post.created', { n: 1 });
    await eventually(() => expect(seen).toEqual([{ n: 1 }]));

    await first.close();
    await sleep(TTL_MS / 3 + 50); // a renewal meets the closed port: refused, and retried later
    const second = (await world.serve('feed', {}, publisher, first.address)) as UdpServer;
    expect(second).not.toBe(first);
    const started = Date.now();
    await eventually(() => expect(second.registry.targets('post.created')).toHaveLength(1), 2_000, 10);
    // Within one renewal period, plus the refused endpoint's short sit-out.
    expect(Date.now() - started).toBeLessThan(TTL_MS);

    await publisher.publish('feed', 'post.created', { n: 2 });
    await eventually(() => expect(seen).toEqual([{ n: 1 }, { n: 2 }]));
    expect(second.stats.eventsSent).toBe(1);
  });

  it('forgets a subscriber that stops renewing once its TTL runs out, and one that unsubscribes at once', async () => {
    const publisher = world.transport();
    const server = (await world.serve('feed', {}, publisher)) as UdpServer;
    const vanishing = world.transport();
    await vanishing.subscribe('feed', 'a', () => {});
    const polite = await world.transport().subscribe('feed', 'b', () => {});
    expect(server.registry.targets('a')).toHaveLength(1);
    expect(server.registry.targets('b')).toHaveLength(1);

    await polite.close();
    expect(server.registry.targets('b')).toHaveLength(0);

    await vanishing.close(); // no unsubscribe: the renewals just stop
    await sleep(TTL_MS / 2);
    expect(server.registry.targets('a')).toHaveLength(1);
    await eventually(() => expect(server.registry.targets('a')).toHaveLength(0), TTL_MS * 3);
  });

  it('refuses an event over the limit before sending any of it', async () => {
    const publisher = world.transport();
    const server = (await world.serve('feed', {}, publisher)) as UdpServer;
    await world.transport().subscribe('feed', 'big', () => {});
    const err = await rejection(publisher.publish('feed', 'big', 'x'.repeat(70_000)));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(server.stats.eventsSent).toBe(0);
  });

  it('refuses to publish for a service this process does not serve', async () => {
    const err = await rejection(world.transport().publish('nobody', 'topic', {}));
    expect(err.code).toBe('INTERNAL');
  });
});

describe('ReplyCache', () => {
  const reply = (bytes: number): Buffer => Buffer.alloc(bytes);
  const S = ['127.0.0.1', 40000] as const;

  it('remembers a running request, then its reply until it expires', () => {
    const cache = new ReplyCache({ maxEntries: 10, maxBytes: 1_000 });
    expect(cache.lookup(...S, 'a').state).toBe('new');
    cache.markRunning(...S, 'a');
    expect(cache.lookup(...S, 'a').state).toBe('running');
    cache.finish(...S, 'a', reply(10), 1_000);
    expect(cache.lookup(...S, 'a', 999)).toEqual({ state: 'done', datagram: reply(10) });
    expect(cache.lookup(...S, 'a', 1_000).state).toBe('new');
    cache.prune(1_000);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('evicts the oldest finished replies past its count or byte bound, never a running one', () => {
    const cache = new ReplyCache({ maxEntries: 3, maxBytes: 100 });
    cache.markRunning(...S, 'running');
    for (const key of ['a', 'b', 'c', 'd']) cache.finish(...S, key, reply(10), Infinity);
    expect(['a', 'b', 'c', 'd'].map((k) => cache.lookup(...S, k).state)).toEqual(['new', 'done', 'done', 'done']);
    cache.finish(...S, 'big', reply(85), Infinity); // 10 + 10 + 85 > 100: b and c go
    expect(['b', 'c', 'd', 'big'].map((k) => cache.lookup(...S, k).state)).toEqual(['new', 'new', 'done', 'done']);
    expect(cache.lookup(...S, 'running').state).toBe('running');
    expect(cache.bytes).toBe(95);
    expect(cache.evictions).toBe(3);
  });

  it('keeps evicting oldest first through thousands of replies, prunes and keys that run again', () => {
    const cache = new ReplyCache({ maxEntries: 100, maxBytes: 1_000_000 });
    for (let i = 0; i < 5_000; i++) cache.finish(...S, `k${i}`, reply(1), i % 2 === 0 ? 10 : Infinity);
    expect(cache.size).toBe(100);
    expect(cache.evictions).toBe(4_900);
    expect(cache.lookup(...S, 'k4899', 0).state).toBe('new');
    expect(cache.lookup(...S, 'k4900', 0).state).toBe('done');
    cache.prune(10); // the even half expires
    expect(cache.size).toBe(50);
    expect(cache.bytes).toBe(50);
    // A key that expired runs again: its new reply is the newest, not evicted with its old slot.
    cache.finish(...S, 'k4900', reply(2), Infinity);
    for (let i = 0; i < 49; i++) cache.finish(...S, `n${i}`, reply(1), Infinity);
    expect(cache.size).toBe(100);
    expect(cache.evictions).toBe(4_900);
    cache.finish(...S, 'n49', reply(1), Infinity); // one too many: the oldest, k4901, goes
    expect(cache.lookup(...S, 'k4900').state).toBe('done');
    expect(cache.lookup(...S, 'k4901').state).toBe('new');
    expect(cache.lookup(...S, 'k4903').state).toBe('done');
    expect(cache.bytes).toBe(101);
  });

  it('tells senders apart: the same id from another address or port is another request', () => {
    const cache = new ReplyCache({ maxEntries: 10, maxBytes: 1_000 });
    cache.markRunning(...S, 'r1');
    expect(cache.lookup('127.0.0.1', 40001, 'r1').state).toBe('new');
    expect(cache.lookup('127.0.0.2', 40000, 'r1').state).toBe('new');
    cache.finish(...S, 'r1', reply(3), 1_000);
    cache.finish('127.0.0.1', 40001, 'r1', reply(4), 1_000);
    cache.finish('127.0.0.2', 40000, 'r1', reply(5), 2_000); // same port, another host
    expect(cache.lookup(...S, 'r1', 0)).toEqual({ state: 'done', datagram: reply(3) });
    expect(cache.lookup('127.0.0.1', 40001, 'r1', 0)).toEqual({ state: 'done', datagram: reply(4) });
    expect(cache.lookup('127.0.0.2', 40000, 'r1', 0)).toEqual({ state: 'done', datagram: reply(5) });
    cache.prune(1_000); // the other host on the same port stays
    expect(cache.lookup(...S, 'r1', 0).state).toBe('new');
    expect(cache.lookup('127.0.0.2', 40000, 'r1', 0).state).toBe('done');
    cache.prune(2_000);
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
    cache.markRunning(...S, 'r1'); // a sender forgotten entirely is remembered afresh
    expect(cache.lookup(...S, 'r1').state).toBe('running');
  });
});
