/**
 * How long a post is, counted the way the posts service counts it (@chirp/contracts' postLength:
 * code points after trimming, and 0 for a text of only invisible characters). Copied rather than
 * imported because the composer's live counter runs in the browser, and no client component
 * imports @chirp/* values (next.config.ts); text.test.ts checks the two agree.
 */
const INVISIBLE = /^(?:[\p{White_Space}\p{Cf}\p{Cc}\u2800\u3164\uFFA0\u115F]|\u034F|\u1160|\u17B4|\u17B5)*$/u;

export function postLength(text: string): number {
  const trimmed = text.trim();
  return INVISIBLE.test(trimmed) ? 0 : [...trimmed].length;
}
