/**
 * Session tokens: 256 random bits, shown to the user once, stored only as a SHA-256 hash,
 * so a leaked sessions table does not let anyone log in. (A fast hash is right here: the
 * token is random, not guessable like a password, and verify is on every request's path.)
 */
import { createHash, randomBytes } from 'node:crypto';

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * How session.revoked names a session (the contract's rule): another hash of the token than the
 * one stored, so the event gives a reader neither the token nor the sessions table's key.
 */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update('chirp session id\0').update(token).digest('hex');
}
