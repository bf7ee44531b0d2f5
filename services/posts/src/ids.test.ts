import { describe, expect, it } from 'vitest';
import { newPostId } from './ids.js';

describe('post ids', () => {
  it('sort in creation order, within a millisecond and when the clock steps back', () => {
    const now = Date.UTC(2026, 10, 23);
    const made = [
      ...Array.from({ length: 50 }, () => newPostId(now)),
      newPostId(now + 1),
      newPostId(now - 1_000), // an NTP step back: time stays put
      newPostId(now + 2),
    ];
    const ids = made.map((m) => m.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(made[51]!.createdAt.getTime()).toBe(now + 1);
    expect(made.every((m) => m.id.length === 22)).toBe(true);
  });
});
