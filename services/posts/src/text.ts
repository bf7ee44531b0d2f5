/** The one rule of a post's text: 1 to 141 characters after trimming (see @chirp/contracts' postLength). */
import { DomainError, MAX_POST_CHARS, postLength } from '@chirp/contracts';

export function postText(raw: string): string {
  const length = postLength(raw);
  if (length === 0) throw new DomainError('INVALID_ARGUMENT', 'a post needs some text');
  if (length > MAX_POST_CHARS) {
    throw new DomainError('INVALID_ARGUMENT', `a post is at most ${MAX_POST_CHARS} characters; this one has ${length}`);
  }
  return raw.trim();
}
