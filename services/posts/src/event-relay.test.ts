/**
 * The post.created relay: first the EventRelay alone against a publisher that fails while
 * told to (order, retries, the bounds, close), then the real posts service whose events
 * travel on AMQP through a TcpProxy that cuts and refuses its broker connection: creates
 * stay quick while publishing fails, and every event arrives once, in order, after recovery.
 */
import { client, posts, subscribe, type Post } from '@chirp/contracts';
import { testDatabase, type TestDatabase } from '@chirp/db/testing';
import type { RunningService } from '@chirp/service-runtime';
import { startTestService } from '@chirp/service-runtime/testing';
import { TransportError, type Logger } from '@chirp/transport';
import { AMQP_TEST_URL, TcpProxy, TestWorld, deleteByPrefix, eventually, sleep } from '@chirp/transport/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRelay, type RelayPolicy } from './event-relay.js';
import { startPosts } from './start.js';

interface Line {
  level: 'error' | 'warn' | 'info' | 'debug';
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (obj: object, msg = ''): void =>
      void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, lines };
}

/** A publisher that fails while `down`, recording how often it was asked and what it delivered. */
function flakyPublisher(): {
  publish: (n: number) => Promise<void>;
  calls: number;
  delivered: number[];
  down: boolean;
} {
  const state = {
    down: true,
    calls: 0,
    delivered: [] as number[],
    publish: async (n: number): Promise<void> => {
      state.calls++;
      await sleep(1); // a real publish takes a turn or more
      if (state.down) throw new TransportError('UNAVAILABLE', 'broker connection lost');
      state.delivered.push(n);
    },
  };
  return state;
}

const QUICK: Partial<RelayPolicy> = { firstRetryMs: 10, maxRetryMs: 40 };

function relayOver(publisher: { publish: (n: number) => Promise<void> }, policy: Partial<RelayPolicy>, held = false) {
  const { logger, lines } = recordingLogger();
  const relay = new EventRelay<number>({
    what: 'test.event',
    publish: publisher.publish,
    describe: (n) => ({ n }),
    isPermanent: (err) => err instanceof TransportError && err.code === 'INVALID_ARGUMENT',
    logger,
    policy: { ...QUICK, ...policy },
    held,
  });
  const errors = () => lines.filter((l) => l.level === 'error' && 'dropped' in l.obj);
  return { relay, lines, errors };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('EventRelay', () => {
  it.each([1, 4])(
    'delivers every event once, in hand-over order, after publishing failed for a while (window %i)',
    async (window) => {
      const publisher = flakyPublisher();
      const { relay } = relayOver(publisher, { window });
      for (const n of range(0, 20)) relay.hand(n);
      await eventually(() => expect(relay.stats.retried).toBeGreaterThanOrEqual(3));
      expect(publisher.delivered).toEqual([]);
      for (const n of range(20, 30)) relay.hand(n);
      publisher.down = false;
      await eventually(() => expect(publisher.delivered).toHaveLength(30));
      await sleep(50);
      expect(publisher.delivered).toEqual(range(0, 30));
      expect(relay.stats).toMatchObject({ published: 30, dropped: 0, pending: 0 });
      await relay.close(1_000);
    },
  );

  it('holds every event back until released (subscribers finding a restarted publisher), then publishes them in order', async () => {
    const publisher = flakyPublisher();
    publisher.down = false;
    const { relay } = relayOver(publisher, {}, true);
    for (const n of range(0, 5)) relay.hand(n);
    await sleep(100);
    expect(publisher.calls).toBe(0);
    relay.release(100);
    await sleep(50);
    expect(publisher.calls).toBe(0);
    await eventually(() => expect(publisher.delivered).toEqual(range(0, 5)));
    await relay.close(1_000);
  });

  it('backs off: a publish failing for 300 ms is tried a handful of times, not hundreds', async () => {
    const publisher = flakyPublisher();
    const { relay } = relayOver(publisher, { firstRetryMs: 20, maxRetryMs: 2_000 });
    relay.hand(1);
    await sleep(300);
    // 10–20, 20–40, 40–80, 80–160 ms…: about 4 retries in 300 ms, fewer if timers run late.
    expect(relay.stats.retried).toBeGreaterThanOrEqual(1);
    expect(relay.stats.retried).toBeLessThanOrEqual(6);
    publisher.down = false;
    await eventually(() => expect(publisher.delivered).toEqual([1]), 5_000);
    await relay.close(1_000);
  });

  it('keeps at most maxPending events: the oldest queued go, counted in one error line', async () => {
    const publisher = flakyPublisher();
    const { relay, errors } = relayOver(publisher, { maxPending: 5 });
    for (const n of range(0, 12)) relay.hand(n);
    // 0 was already being sent (it cannot be taken back); 1..7 made room for 8..11.
    expect(relay.stats).toMatchObject({ pending: 5, dropped: 7 });
    publisher.down = false;
    await eventually(() => expect(publisher.delivered).toEqual([0, 8, 9, 10, 11]));
    await relay.close(1_000); // reports the drops now rather than a second later
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.obj.dropped).toBe(7);
    expect(errors()[0]!.msg).toMatch(/7 events dropped: more than 5 pending/);
  });

  it('gives up on events still failing giveUpAfterMs after their hand-over, and goes on with newer ones', async () => {
    const publisher = flakyPublisher();
    const { relay, errors } = relayOver(publisher, { giveUpAfterMs: 150 });
    for (const n of range(0, 3)) relay.hand(n);
    await eventually(() => expect(relay.stats).toMatchObject({ dropped: 3, pending: 0 }));
    relay.hand(3);
    publisher.down = false;
    await eventually(() => expect(publisher.delivered).toEqual([3]));
    await relay.close(1_000);
    expect(errors().reduce((sum, line) => sum + Number(line.obj.dropped), 0)).toBe(3);
  });

  it('drops at once an event the transport refuses as invalid', async () => {
    const { relay, errors } = relayOver(
      { publish: () => Promise.reject(new TransportError('INVALID_ARGUMENT', 'post.created: post: required')) },
      {},
    );
    relay.hand(1);
    await eventually(() => expect(relay.stats).toMatchObject({ dropped: 1, retried: 0, pending: 0 }));
    await relay.close(1_000);
    expect(errors()[0]!.obj).toMatchObject({ dropped: 1, reason: 'refused by the transport' });
  });

  it('on close, publishes what is pending if it can within the grace', async () => {
    const publisher = flakyPublisher();
    const { relay, errors } = relayOver(publisher, {});
    for (const n of range(0, 5)) relay.hand(n);
    setTimeout(() => (publisher.down = false), 100);
    await relay.close(5_000);
    expect(publisher.delivered).toEqual(range(0, 5));
    expect(errors()).toEqual([]);
  });

  it('on close, gives up after the grace with one line naming how many were lost', async () => {
    const publisher = flakyPublisher();
    const { relay, errors } = relayOver(publisher, {});
    for (const n of range(0, 5)) relay.hand(n);
    const started = Date.now();
    await relay.close(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(relay.stats).toMatchObject({ dropped: 5, pending: 0 });
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.msg).toBe('test.event: 5 events dropped: still pending 200 ms into shutdown');
    // After close nothing is tried again, and what is handed over is dropped. (A publish already
    // under way at close cannot be called back: it lands if the broker takes it, at least once.)
    const callsAtClose = publisher.calls;
    relay.hand(6);
    publisher.down = false;
    await sleep(50);
    expect(publisher.calls).toBe(callsAtClose);
    expect(publisher.delivered.filter((n) => n !== 0)).toEqual([]);
  });
});

/**
 * posts serves on TCP and publishes post.created on AMQP through a proxy; the subscriber
 * reaches the broker directly. Cutting and refusing the proxy fails posts' publishes only.
 */
/** The relay's give-up in these tests: long enough for the first cut, short enough to outlast in the second. */
const GIVE_UP_MS = 3_000;

describe('posts while its broker connection is cut', () => {
  let proxy: TcpProxy;
  let postsWorld: TestWorld;
  let clientWorld: TestWorld;
  let db: TestDatabase;
  let service: RunningService;
  let api: ReturnType<typeof client<typeof posts>>;
  const seen: string[] = [];

  const counter = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://${service.adminAddress}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`chirp_${name}{`));
    return Number(line?.split(' ')[1]);
  };

  beforeAll(async () => {
    const broker = new URL(AMQP_TEST_URL);
    proxy = await TcpProxy.start({ target: `${broker.hostname}:${broker.port || 5672}` });
    const viaProxy = new URL(AMQP_TEST_URL);
    viaProxy.host = proxy.address;
    // A short request deadline, so a publish waiting for the lost connection fails in 1 s.
    postsWorld = new TestWorld('tcp', {
      amqpUrl: viaProxy.href,
      defaultTimeoutMs: 1_000,
      services: { posts: { events: 'amqp' } },
    });
    db = testDatabase('postgres', 'posts');
    service = await startTestService(
      postsWorld,
      'posts',
      startPosts(
        { database: db.config, homeMaxFollowees: 10 },
        { firstRetryMs: 50, maxRetryMs: 400, giveUpAfterMs: GIVE_UP_MS },
      ),
    );
    clientWorld = new TestWorld('tcp', {
      amqpPrefix: postsWorld.config.amqpPrefix,
      services: { posts: postsWorld.config.services.posts! },
    });
    api = client(clientWorld.transport(), posts);
    await subscribe(clientWorld.transport(), posts, 'post.created', (event) => void seen.push(event.post.id));
    await eventually(
      async () => {
        await api.create({ authorId: 'warmup', authorUsername: 'warmup', text: 'warming up' });
        await sleep(50);
        expect(seen.length).toBeGreaterThan(0);
      },
      10_000,
      0,
    );
  });
  afterAll(async () => {
    await proxy?.setBlackout('none');
    await service?.stop();
    await clientWorld?.close();
    await postsWorld?.close();
    await proxy?.close();
    await db?.drop();
    if (postsWorld) await deleteByPrefix(postsWorld.config.amqpPrefix);
  });

  it('answers creates at once while publishing fails, then delivers each event once, in order', async () => {
    const publishedBefore = await counter('posts_events_published_total');
    await proxy.setBlackout('refuse');
    proxy.resetAll();

    const created: Post[] = [];
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      created.push((await api.create({ authorId: 'cut', authorUsername: 'cut', text: `during the cut ${i}` })).post);
      took.push(Date.now() - started);
    }
    // Awaiting the publish would take the 1 s deadline per create, and then lose the event.
    expect(Math.max(...took)).toBeLessThan(500);
    await eventually(async () => expect(await counter('posts_events_retried_total')).toBeGreaterThan(0), 10_000);
    const ids = created.map((p) => p.id);
    expect(seen.filter((id) => ids.includes(id))).toEqual([]);

    await proxy.setBlackout('none');
    await eventually(() => expect(seen.filter((id) => ids.includes(id))).toHaveLength(5), 15_000);
    await sleep(200); // a duplicate would arrive about now
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(await counter('posts_events_published_total')).toBe(publishedBefore + 5);
    expect(await counter('posts_events_dropped_total')).toBe(0);
    expect(await counter('posts_events_pending')).toBe(0);
  });

  it('publishes the events it gave up on from the outbox once publishing works again, without a restart', async () => {
    const droppedBefore = await counter('posts_events_dropped_total');
    await proxy.setBlackout('refuse');
    proxy.resetAll();
    const created: Post[] = [];
    for (let i = 0; i < 3; i++) {
      created.push((await api.create({ authorId: 'long', authorUsername: 'long', text: `a long cut ${i}` })).post);
    }
    // Publishing fails for longer than the relay tries: it gives each event up (from memory).
    await eventually(
      async () => expect(await counter('posts_events_dropped_total')).toBe(droppedBefore + 3),
      GIVE_UP_MS + 10_000,
    );
    const ids = created.map((p) => p.id);
    expect(seen.filter((id) => ids.includes(id))).toEqual([]);

    await proxy.setBlackout('none');
    // The outbox still has them: swept back into the relay (every GIVE_UP_MS / 2) and published.
    // At least once: a publish that timed out waiting for the connection may still go out when it
    // returns, before the swept copy (notify pushes a post once, by id).
    await eventually(() => expect(new Set(seen.filter((id) => ids.includes(id)))).toEqual(new Set(ids)), 15_000);
    await eventually(async () => expect(await counter('posts_events_pending')).toBe(0));
  }, 40_000);
});
