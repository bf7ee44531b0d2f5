/**
 * Passwords are kept as bcrypt hashes. bcrypt reads at most 72 bytes of its input and
 * silently ignores the rest, so a longer password is refused rather than truncated:
 * "correct horse battery staple…" and the same with another ending must not be equal.
 * The contract counts characters; only bytes matter to bcrypt ('é' is two of them).
 */
import { DomainError } from '@chirp/contracts';
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';

export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_BYTES = 72;

/** Throws INVALID_ARGUMENT for a password bcrypt could not hash whole. */
export function checkPasswordRules(password: string): void {
  if ([...password].length < PASSWORD_MIN_CHARS) {
    throw new DomainError('INVALID_ARGUMENT', `password: at least ${PASSWORD_MIN_CHARS} characters`);
  }
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > PASSWORD_MAX_BYTES) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      `password: at most ${PASSWORD_MAX_BYTES} bytes of UTF-8 (this one is ${bytes}); bcrypt would ignore the rest`,
    );
  }
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/**
 * Whether `password` is the one `hash` was made from. A password over 72 bytes is never
 * right (no account has one), even though bcrypt would compare only its first 72 bytes.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const matches = await bcrypt.compare(password, hash);
  return matches && Buffer.byteLength(password, 'utf8') <= PASSWORD_MAX_BYTES;
}

/**
 * A hash of a random password at the service's cost: a log-in for an unknown username is
 * checked against it, so it takes as long as a wrong password and the reply time does not
 * tell which usernames exist.
 */
export function dummyPasswordHash(cost: number): Promise<string> {
  return hashPassword(randomBytes(18).toString('base64'), cost);
}
