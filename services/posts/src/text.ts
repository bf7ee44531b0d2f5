/**
 * The one rule of a post's text: 1 to 141 characters after trimming, where a character is a
 * Unicode code point — what a person counts, so '🐦' is one, not the two UTF-16 units
 * JavaScript's .length would say. (Combined emoji such as flags are still several points.)
 */
import { MAX_POST_CHARS } from '@chirp/contracts';
import { TransportError } from '@chirp/transport';

export function postText(raw: string): string {
  const text = raw.trim();
  const length = [...text].length;
  if (length === 0) throw new TransportError('INVALID_ARGUMENT', 'a post needs some text');
  if (length > MAX_POST_CHARS) {
    throw new TransportError(
      'INVALID_ARGUMENT',
      `a post is at most ${MAX_POST_CHARS} characters; this one has ${length}`,
    );
  }
  return text;
}
