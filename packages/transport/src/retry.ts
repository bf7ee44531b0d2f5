/**
 * Retries for calls marked idempotent (RequestOptions.idempotent; the contract marks its methods):
 * a call that failed with UNAVAILABLE — nobody answered: a server restarting, a connection lost —
 * is tried again after a backoff with full jitter, for as long as its deadline allows. Every
 * attempt is a child of the same parent span and has only the time that is left. Other failures
 * reach the caller at once, as does UNAVAILABLE from a transport that was closed (not retryable).
 */
import { TransportError } from './errors.js';

const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

/**
 * `attempt(remainingMs)` until one succeeds, one fails other than UNAVAILABLE, or the next would
 * start in the last tenth of `timeoutMs`: a service retrying a call for its own caller must fail
 * back before that caller's deadline, not at the same moment.
 */
export async function retried<T>(attempt: (remainingMs: number) => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const retryUntil = deadline - timeoutMs / 10;
  for (let failures = 0; ; failures++) {
    try {
      return await attempt(Math.max(1, deadline - Date.now()));
    } catch (err) {
      const pauseMs = Math.random() * Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** failures);
      const unavailable = err instanceof TransportError && err.code === 'UNAVAILABLE' && err.retryable;
      if (!unavailable || Date.now() + pauseMs >= retryUntil) throw err;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
