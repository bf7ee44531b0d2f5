import { describe, expect, it } from 'vitest';
import { decodeKeyset, decodeRankedKeyset, encodeKeyset } from './keyset.js';

const createdAt = new Date('2026-11-23T10:00:00.123Z');

describe('keyset cursors', () => {
  it('round-trip a position and a ranked position exactly', () => {
    expect(decodeKeyset(encodeKeyset({ createdAt, id: 'p1' }))).toEqual({ createdAt, id: 'p1' });
    expect(decodeRankedKeyset(encodeKeyset({ createdAt, id: 'p1', rank: 0.0607927 }))).toEqual({
      createdAt,
      id: 'p1',
      rank: 0.0607927,
    });
  });

  it('refuse a ranked cursor where a plain one is expected, and the reverse', () => {
    expect(decodeKeyset(encodeKeyset({ createdAt, id: 'p1', rank: 1 }))).toBeUndefined();
    expect(decodeRankedKeyset(encodeKeyset({ createdAt, id: 'p1' }))).toBeUndefined();
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{t:').toString('base64url')],
    ['an array', Buffer.from('[1,"p1"]').toString('base64url')],
    ['a negative time', Buffer.from('{"t":-1,"i":"p1"}').toString('base64url')],
    ['an empty id', Buffer.from('{"t":1,"i":""}').toString('base64url')],
    ['an overlong id', Buffer.from(JSON.stringify({ t: 1, i: 'x'.repeat(65) })).toString('base64url')],
    [
      'a date after year 9999',
      Buffer.from(JSON.stringify({ t: Date.UTC(10000, 0, 1), i: 'p1' })).toString('base64url'),
    ],
    ['a NUL in the id', Buffer.from(JSON.stringify({ t: 1, i: 'p\u00001' })).toString('base64url')],
    ['a lone surrogate in the id', Buffer.from('{"t":1,"i":"\\ud800"}').toString('base64url')],
    ['an extra field', Buffer.from('{"t":1,"i":"p1","x":0}').toString('base64url')],
  ])('refuse %s', (_what, cursor) => {
    expect(decodeKeyset(cursor)).toBeUndefined();
  });
});
