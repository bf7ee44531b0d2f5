/**
 * How long a post is: Unicode code points after trimming — what a person counts, so '🐦' is one,
 * not the two UTF-16 units JavaScript's .length would say (combined emoji such as flags are still
 * several points). A text of nothing a reader can see is empty: whitespace, format characters
 * (U+200B zero-width space, U+202E right-to-left override, …), control characters, and the
 * "filler" letters that render blank (Hangul fillers, the Braille blank, the combining grapheme
 * joiner).
 */
const INVISIBLE = /^(?:[\p{White_Space}\p{Cf}\p{Cc}\u2800\u3164\uFFA0\u115F]|\u034F|\u1160|\u17B4|\u17B5)*$/u;

export function postLength(text: string): number {
  const trimmed = text.trim();
  return INVISIBLE.test(trimmed) ? 0 : [...trimmed].length;
}
