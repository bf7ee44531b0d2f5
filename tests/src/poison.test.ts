/**
 * Poison messages on AMQP, for real: a consumer process (crash-on-mark.ts) that SIGKILLs
 * itself when it handles a marked message, restarted by this test each time it dies, as a
 * supervisor would. The marked message must stop after DELIVERY_LIMIT + 1 crashes and land
 * in the dead-letter queue (reason delivery_limit), while the messages beside and behind it
 * go through. Events sit in a quorum queue, whose broker counts the deliveries; requests in a
 * classic queue, whose consumers count them (packages/transport/src/amqp/redelivery.ts).
 * Needs @chirp/transport built (`npm run build`).
 */
import { randomBytes } from 'node:crypto';
import { DELIVERY_LIMIT, type RoutedTransport } from '@chirp/transport';
import { AMQP_TEST_URL, TestWorld, deleteByPrefix, eventually, takeDeadLetters } from '@chirp/transport/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ServiceProcess } from './processes.js';

let world: TestWorld;
let caller: RoutedTransport;
let consumer: ServiceProcess;
let crashes: number;
let handled: string[];

beforeEach(async () => {
  world = new TestWorld('amqp', { amqpPrefix: `test-${randomBytes(4).toString('hex')}` });
  caller = world.transport();
  crashes = 0;
  handled = [];
  consumer = new ServiceProcess({
    name: 'crash-on-mark',
    command: ['node', 'packages/transport/dist/testing/crash-on-mark.js'],
    env: { AMQP_URL: AMQP_TEST_URL, AMQP_PREFIX: world.config.amqpPrefix },
    ready: { line: 'ready' },
  });
  consumer.onLine = (line) => {
    if (line.startsWith('handled ')) handled.push(line.slice('handled '.length));
  };
  consumer.onCrash = () => {
    crashes++;
    void consumer.start();
  };
  await consumer.start();
});

afterEach(async () => {
  await consumer.stop();
  await world.close();
  await deleteByPrefix(world.config.amqpPrefix);
});

it(`dead-letters an event that kills its consumer after ${DELIVERY_LIMIT + 1} crashes; the events behind it go through`, async () => {
  await caller.publish('crashy', 'job', { id: 'poison', crash: true });
  // Published while the consumer keeps dying: each waits in the group's durable queue.
  const during = Array.from({ length: 5 }, (_, i) => `during-${i}`);
  for (const id of during) await caller.publish('crashy', 'job', { id });

  const dead = await eventually(
    async () => {
      const letters = await takeDeadLetters(world.config.amqpPrefix);
      expect(letters.map((l) => JSON.parse(l.body).id)).toContain('poison');
      return letters;
    },
    60_000,
    500,
  );
  const poison = dead.find((l) => JSON.parse(l.body).id === 'poison')!;
  expect(poison.reason).toBe('delivery_limit');
  expect(poison.queue).toBe(`${world.config.amqpPrefix}.events.crashy.job.workers`);
  await eventually(() => expect(consumer.running).toBe(true), 20_000, 100);
  expect(crashes).toBe(DELIVERY_LIMIT + 1);

  const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
  for (const id of after) await caller.publish('crashy', 'job', { id });
  await eventually(() => expect(handled).toEqual(expect.arrayContaining([...during, ...after])), 20_000, 100);
  // The events that sat beside the poison through its crashes were handled, not dead-lettered with it.
  expect(dead).toHaveLength(1);
  expect(await takeDeadLetters(world.config.amqpPrefix)).toEqual([]);
  expect(crashes).toBe(DELIVERY_LIMIT + 1);
}, 90_000);

it(`dead-letters a request that kills its server after ${DELIVERY_LIMIT + 1} crashes, answers the requests beside it, and keeps serving`, async () => {
  const poisoned = caller.request('crashy', 'work', { id: 'poison', crash: true }, { timeoutMs: 60_000 });
  const failure = poisoned.then(
    () => undefined,
    (err: unknown) => err,
  );
  // Sent with it, so the first server to die holds them too: each crash redelivers them with the poison.
  const beside = Array.from({ length: 5 }, (_, i) =>
    caller.request('crashy', 'work', { id: `beside-${i}` }, { timeoutMs: 60_000 }),
  );
  const dead = await eventually(
    async () => {
      const letters = await takeDeadLetters(world.config.amqpPrefix);
      expect(letters).toHaveLength(1);
      return letters;
    },
    60_000,
    500,
  );
  expect(dead[0]).toMatchObject({ reason: 'delivery_limit', queue: `${world.config.amqpPrefix}.rpc.crashy` });
  expect(JSON.parse(dead[0]!.body)).toEqual({ id: 'poison', crash: true });
  // The server that dead-letters it answers it, rather than leaving the caller to its deadline.
  expect(await failure).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/dead-lettered/) });
  expect(await Promise.all(beside)).toEqual(Array.from({ length: 5 }, (_, i) => ({ id: `beside-${i}` })));
  expect(handled).toEqual(expect.arrayContaining(Array.from({ length: 5 }, (_, i) => `beside-${i}`)));
  expect(await caller.request('crashy', 'work', { id: 'after' }, { timeoutMs: 20_000 })).toEqual({ id: 'after' });
  expect(crashes).toBe(DELIVERY_LIMIT + 1);
}, 90_000);
