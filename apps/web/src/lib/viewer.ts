/**
 * Who a session token belongs to, for a page, a server action or the JSON API alike: auth's
 * verify, behind a short cache. auth.verify is on the path of nearly every request, and a
 * person clicking through pages sends the same token many times a second; remembering the
 * answer for SESSION_CACHE_MS (default 1 s) spares auth and a hop most of those, while a
 * logged-out token still stops working within that second everywhere — at once in this process,
 * which forgets the token as it logs it out (forgetVerified). Bounded: the oldest entries go
 * first past MAX_CACHED.
 */
import type { User } from '@chirp/contracts';
import { webConfig } from './config.js';
import { ServiceError } from './errors.js';
import { servicesFor, type Services } from './services.js';
import { recordAction } from './traces.js';

export interface Viewer {
  user: User;
  token: string;
  call: Services;
}

const MAX_CACHED = 10_000;

interface Verified {
  user: User;
  until: number;
}

// On globalThis: the JSON API and every route bundle of the pages share one cache per process.
const holder = globalThis as typeof globalThis & { __chirpVerified?: Map<string, Verified> };
const verified: Map<string, Verified> = (holder.__chirpVerified ??= new Map());

/** Who `token` belongs to, or null when auth knows no such session; auth down is a ServiceError. */
export async function viewerOfToken(token: string, action: string): Promise<Viewer | null> {
  const call = servicesFor(action);
  recordAction(token, call.trace);
  const known = verified.get(token);
  if (known !== undefined && known.until > Date.now()) return { user: known.user, token, call };
  try {
    const { user } = await call.auth.verify({ token });
    remember(token, user);
    return { user, token, call };
  } catch (err) {
    if (err instanceof ServiceError && (err.code === 'UNAUTHENTICATED' || err.code === 'INVALID_ARGUMENT')) {
      verified.delete(token);
      return null;
    }
    throw err;
  }
}

/** Forget a token's verification now (it is being logged out). */
export function forgetVerified(token: string): void {
  verified.delete(token);
}

function remember(token: string, user: User): void {
  const ttlMs = webConfig().sessionCacheMs;
  if (ttlMs <= 0) return;
  verified.delete(token); // re-inserted last: the Map's order is then oldest first
  verified.set(token, { user, until: Date.now() + ttlMs });
  if (verified.size > MAX_CACHED) verified.delete(verified.keys().next().value!);
}
