/**
 * The rules of a profile's texts: trimmed, at most `max` characters counted as a post's are
 * (code points; nothing visible counts as empty, which clears the field), and a display name
 * on one line. Refusals say which field and by how much.
 */
import { DomainError, postLength } from '@chirp/contracts';

const LINE_BREAKS = /[\r\n\u2028\u2029]/;

export function profileText(raw: string, what: string, max: number, options: { oneLine?: boolean } = {}): string {
  const length = postLength(raw);
  if (length === 0) return '';
  if (length > max) {
    throw new DomainError('INVALID_ARGUMENT', `a ${what} is at most ${max} characters; this one has ${length}`);
  }
  const text = raw.trim();
  if (options.oneLine && LINE_BREAKS.test(text)) {
    throw new DomainError('INVALID_ARGUMENT', `a ${what} is one line`);
  }
  return text;
}
