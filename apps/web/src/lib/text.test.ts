/** The composer's counter and the posts service count a post alike, invisible characters included. */
import { postLength as servicePostLength } from '@chirp/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { postProblem } from './input.js';
import { postLength } from './text.js';

describe('post length', () => {
  it.each([
    ['a zero-width space', '\u200b'],
    ['a right-to-left override alone', '\u202e'],
    ['format characters and spaces', ' \u200b\u200d\u2060\ufeff \u202e '],
    ['Hangul fillers and a Braille blank', '\u3164\u115f\u2800'],
  ])('counts %s as empty, so the form says to write something', (_what, text) => {
    expect(postLength(text)).toBe(0);
    expect(servicePostLength(text)).toBe(0);
    expect(postProblem(text)).toBe('Write something first.');
  });

  it('counts visible text by code point, invisible characters inside it included', () => {
    expect(postLength('  🐦 hi\u200b ')).toBe(5);
    expect(postLength('\u202eolleh')).toBe(6);
  });

  it('agrees with the posts service on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (text) => {
        expect(postLength(text)).toBe(servicePostLength(text));
      }),
    );
  });
});
