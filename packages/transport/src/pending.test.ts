/**
 * The pending-call map every transport shares: each request fails at its own deadline (not
 * sooner, not later) with one timer for all of them, and that timer keeps the process alive only
 * while something is pending.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { PendingRequests } from './pending.js';
import { sleep } from './testing/index.js';

/** Timers that keep the process alive right now. */
function refedTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

async function settledAfter(reply: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await reply.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: performance.now() - started, error };
}

describe('PendingRequests', () => {
  it('resolves and rejects by id, and fails each request at its own deadline', async () => {
    const pending = new PendingRequests<string>();
    const answered = pending.wait('a', 1_000, 'test a', 'tag');
    expect(pending.resolve('a', 42)).toBe(true);
    expect(pending.resolve('a', 43)).toBe(false);
    expect(await answered).toBe(42);

    const late = settledAfter(pending.wait('b', 150, 'test b', 'tag'));
    const early = settledAfter(pending.wait('c', 60, 'test c', 'tag'));
    const [b, c] = await Promise.all([late, early]);
    expect(c.error).toBeInstanceOf(TransportError);
    expect((c.error as TransportError).code).toBe('DEADLINE_EXCEEDED');
    expect((c.error as Error).message).toBe('test c: no reply within 60 ms');
    expect(c.ms).toBeGreaterThanOrEqual(59);
    expect(b.ms).toBeGreaterThanOrEqual(149);
    expect(b.ms).toBeLessThan(400);
  });

  it('times out a request made after the map emptied at its own deadline, not at an earlier one', async () => {
    const pending = new PendingRequests<undefined>();
    const first = pending.wait('first', 100, 'first', undefined);
    pending.resolve('first', 'done'); // the map is empty; its timer is still set for 100 ms
    await first;
    await sleep(50);
    const second = await settledAfter(pending.wait('second', 200, 'second', undefined));
    expect((second.error as TransportError).code).toBe('DEADLINE_EXCEEDED');
    expect(second.ms).toBeGreaterThanOrEqual(199);
    expect(second.ms).toBeLessThan(450);
  });

  it('keeps the process alive only while a request is pending', async () => {
    const before = refedTimers();
    const pending = new PendingRequests<undefined>();
    for (let call = 0; call < 3; call++) {
      const reply = pending.wait(`r${call}`, 60_000, 'call', undefined);
      expect(refedTimers()).toBe(before + 1);
      pending.resolve(`r${call}`, call);
      await reply;
      expect(refedTimers()).toBe(before);
    }
  });

  it('tells its settle callback about every request, however it ended', async () => {
    const settled: string[] = [];
    const pending = new PendingRequests<string>((tag) => settled.push(tag));
    const replies = [
      pending.wait('ok', 1_000, 'ok', 'resolved'),
      pending.wait('bad', 1_000, 'bad', 'rejected'),
      pending.wait('slow', 20, 'slow', 'timed out'),
    ];
    pending.resolve('ok', 1);
    pending.reject('bad', new Error('no'));
    await Promise.allSettled(replies);
    expect(settled).toEqual(['resolved', 'rejected', 'timed out']);
  });
});
