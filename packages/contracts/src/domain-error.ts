/**
 * How a service refuses a call in its own terms: "no such user", "that username is taken",
 * "too many failed log-ins". A service throws a DomainError; the served handlers (bind.ts) turn
 * it into the transport's error with the same code on the way out, so services never speak the
 * transport's vocabulary and the mapping lives here once. Anything else a handler throws is a
 * bug and reaches the caller as INTERNAL.
 */
import { TransportError, type ErrorCode } from '@chirp/transport';

/** The codes a refusal may carry: the caller's fault or the caller's limit, never the system's. */
export type DomainErrorCode = Extract<
  ErrorCode,
  'INVALID_ARGUMENT' | 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'RESOURCE_EXHAUSTED'
>;

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code: DomainErrorCode;
  /** When trying again may succeed, in whole seconds (a throttle's lock-out). */
  readonly retryAfterS: number | undefined;

  constructor(code: DomainErrorCode, message: string, options?: { retryAfterS?: number }) {
    super(message);
    this.code = code;
    this.retryAfterS = options?.retryAfterS;
  }
}

/** What the caller receives for `err`: a DomainError as the transport's error, anything else as it is. */
export function onTheWire(err: unknown): unknown {
  if (!(err instanceof DomainError)) return err;
  return new TransportError(err.code, err.message, {
    cause: err,
    ...(err.retryAfterS === undefined ? {} : { retryAfterS: err.retryAfterS }),
  });
}
