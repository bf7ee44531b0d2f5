import { ROOT_CONTEXT, createContextKey } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ScopedContextManager } from './scoped-context.js';

const key = createContextKey('call');
const outer = ROOT_CONTEXT.setValue(key, 'outer');
const inner = ROOT_CONTEXT.setValue(key, 'inner');

describe('the services’ context manager', () => {
  const manager = new ScopedContextManager();
  const current = () => manager.active().getValue(key);

  it('makes a context active while a function runs, and the one before again after, even when it throws', () => {
    expect(manager.with(outer, () => [current(), manager.with(inner, current), current()])).toEqual([
      'outer',
      'inner',
      'outer',
    ]);
    expect(() =>
      manager.with(inner, () => {
        throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('passes `this` and the arguments through, and binds a function to a context for later', () => {
    const target = { n: 2 };
    expect(
      manager.with(
        outer,
        function (this: typeof target, m: number) {
          return this.n * m;
        },
        target,
        21,
      ),
    ).toBe(42);
    const later = manager.bind(inner, (suffix: string) => `${String(current())}${suffix}`);
    expect(later('!')).toBe('inner!');
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('keeps nothing across an await: what comes after is handed its context', async () => {
    const after = await manager.with(outer, async () => {
      await Promise.resolve();
      return current();
    });
    expect(after).toBeUndefined();
  });
});
