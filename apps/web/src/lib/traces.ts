/**
 * What the Transports page shows: for each session, its last few actions, and for each action
 * every service call the web app made for it (service, method, transport, when it started and
 * how long it took). One action = one trace id, sent along on every call it makes, so the same
 * id finds the downstream hops (posts → follows, …) in the services' logs.
 *
 * Kept in this process's memory and bounded on both axes (actions per session, sessions),
 * oldest dropped first: it is a window onto recent activity, not a record.
 */
import 'server-only';
import { createHash } from 'node:crypto';
import type { ErrorCode, TransportKind } from '@chirp/transport';

export const ACTIONS_PER_SESSION = 10;
export const MAX_SESSIONS = 500;

export interface Hop {
  service: string;
  method: string;
  transport: TransportKind;
  /** Milliseconds after the action started that the call was sent. */
  startMs: number;
  ms: number;
  outcome: 'OK' | ErrorCode;
}

export interface ActionTrace {
  traceId: string;
  /** What the person did, e.g. "view home", "post". */
  action: string;
  startedAt: number;
  hops: Hop[];
}

interface Store {
  sessions: Map<string, ActionTrace[]>;
}

// On globalThis: route bundles and hot reloads must all see the one store of this process.
const holder = globalThis as typeof globalThis & { __chirpTraces?: Store };
const store: Store = (holder.__chirpTraces ??= { sessions: new Map<string, ActionTrace[]>() });

/** Sessions are keyed by a hash of their token: the store never holds a usable token. */
export function sessionKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** Remember `trace` as the session's latest action; hops added to it later show up too. */
export function recordAction(token: string, trace: ActionTrace): void {
  const key = sessionKey(token);
  const actions = store.sessions.get(key) ?? [];
  store.sessions.delete(key); // re-insert: Map order is then least recently active first
  if (!actions.includes(trace)) actions.unshift(trace);
  actions.length = Math.min(actions.length, ACTIONS_PER_SESSION);
  store.sessions.set(key, actions);
  while (store.sessions.size > MAX_SESSIONS) {
    const oldest = store.sessions.keys().next().value;
    if (oldest === undefined) break;
    store.sessions.delete(oldest);
  }
}

/** The session's recent actions, newest first (copies: rendering never races a late hop). */
export function recentActions(token: string): ActionTrace[] {
  return (store.sessions.get(sessionKey(token)) ?? []).map((trace) => ({ ...trace, hops: [...trace.hops] }));
}

export function forgetSession(token: string): void {
  store.sessions.delete(sessionKey(token));
}
