import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rateLimitedLogger, type Logger } from './logger.js';

describe('rateLimitedLogger', () => {
  let lines: { level: string; obj: object; msg?: string }[];
  let logger: Logger;

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    const record = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
    logger = rateLimitedLogger(
      { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') },
      1_000,
    );
  });
  afterEach(() => vi.useRealTimers());

  it('writes the first warning of a cause at once and one line with the count at the end of the interval', () => {
    for (let i = 0; i < 3_000; i++) logger.warn({ from: `10.0.0.${i % 250}` }, 'tcp: bad hello');
    expect(lines).toEqual([{ level: 'warn', obj: { from: '10.0.0.0' }, msg: 'tcp: bad hello' }]);
    vi.advanceTimersByTime(1_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      level: 'warn',
      obj: { from: '10.0.0.249', repeated: 2_999, intervalMs: 1_000 },
      msg: 'tcp: bad hello (2999 more in 1 s)',
    });
  });

  it('limits each cause on its own, and starts afresh after a quiet interval', () => {
    logger.warn({}, 'a');
    logger.warn({}, 'b');
    logger.error({}, 'a'); // another level is another cause
    logger.warn({}, 'a');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual(['warn a', 'warn b', 'error a']);
    vi.advanceTimersByTime(1_000);
    logger.warn({}, 'b');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn a',
      'warn b',
      'error a',
      'warn a (1 more in 1 s)',
      'warn b',
    ]);
  });

  it('passes info and debug through untouched', () => {
    for (let i = 0; i < 3; i++) logger.info({}, 'listening');
    expect(lines).toHaveLength(3);
  });
});
