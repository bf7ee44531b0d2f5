/**
 * The ordering the README promises, and only where it promises it: TCP keeps write order on a
 * connection, AMQP keeps publish order on a queue. (HTTP and UDP promise none, so nothing is
 * asserted for them.) Calls and publishes are all started before any is awaited, so the
 * transport — not the test's pacing — is what keeps the order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestWorld, eventually } from './testing/index.js';
import type { TransportKind } from './transport.js';

const COUNT = 300;
const sequence = Array.from({ length: COUNT }, (_, n) => n);

describe.each<TransportKind>(['tcp', 'amqp'])('%s ordering', (kind) => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it(`hands ${COUNT} requests from one caller to the handler in the order they were sent`, async () => {
    world = new TestWorld(kind);
    const arrived: number[] = [];
    await world.serve('ledger', {
      append: (payload) => {
        arrived.push((payload as { n: number }).n);
        return null;
      },
    });
    const caller = world.transport();
    await Promise.all(sequence.map((n) => caller.request('ledger', 'append', { n })));
    expect(arrived).toEqual(sequence);
  });

  it(`delivers ${COUNT} events to a subscriber in the order they were published`, async () => {
    world = new TestWorld(kind);
    const publisher = world.transport();
    await world.serve('ledger', {}, publisher);
    const seen: number[] = [];
    await world.transport().subscribe('ledger', 'entry', (event) => void seen.push((event as { n: number }).n));
    await Promise.all(sequence.map((n) => publisher.publish('ledger', 'entry', { n })));
    await eventually(() => expect(seen).toHaveLength(COUNT));
    expect(seen).toEqual(sequence);
  });
});
