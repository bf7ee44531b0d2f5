import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.js';

describe('RecentIds', () => {
  it('says first time once per id', () => {
    const recent = new RecentIds();
    expect(recent.firstTime('a')).toBe(true);
    expect(recent.firstTime('b')).toBe(true);
    expect(recent.firstTime('a')).toBe(false);
    expect(recent.firstTime('b')).toBe(false);
  });

  it('keeps at most max ids, forgetting the oldest', () => {
    const recent = new RecentIds(3, 60_000);
    for (const id of ['a', 'b', 'c', 'd']) expect(recent.firstTime(id, 0)).toBe(true);
    expect(recent.size).toBe(3);
    expect(recent.firstTime('d', 0)).toBe(false);
    expect(recent.firstTime('a', 0)).toBe(true);
  });

  it('forgets ids older than ttlMs', () => {
    const recent = new RecentIds(100, 1_000);
    expect(recent.firstTime('a', 0)).toBe(true);
    expect(recent.firstTime('a', 999)).toBe(false);
    expect(recent.firstTime('a', 1_000)).toBe(true);
  });
});
