import { describe, expect, it } from 'vitest';
import { avatarOf } from './avatar';

describe('avatarOf', () => {
  it('draws the same mirrored pattern for a name in any case, and another for another name', () => {
    const bob = avatarOf('bob');
    expect(avatarOf('BOB')).toEqual(bob);
    expect(bob.cells).toHaveLength(25);
    for (let row = 0; row < 5; row++) {
      expect(bob.cells.slice(row * 5, row * 5 + 5)).toEqual(bob.cells.slice(row * 5, row * 5 + 5).reverse());
    }
    expect(bob.hue).toBeGreaterThanOrEqual(0);
    expect(bob.hue).toBeLessThan(360);
    const others = ['alice', 'carol', 'dave', 'erin', 'frank'].map(avatarOf);
    for (const other of others) expect(other).not.toEqual(bob);
  });
});
