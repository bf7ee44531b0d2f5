/**
 * Which traces the Transports page shows a viewer: for each session, its last few actions (what
 * the person did, and the trace id of the request that did it). The spans themselves stay where
 * they were made, in each process's span store, and are gathered when the page is viewed
 * (trace-tree.ts).
 *
 * Kept in this process's memory and bounded on both axes (actions per session, sessions),
 * oldest dropped first: it is a window onto recent activity, not a record.
 */
import { createHash } from 'node:crypto';

export const ACTIONS_PER_SESSION = 10;
export const MAX_SESSIONS = 500;

export interface ActionTrace {
  traceId: string;
  /** What the person did, e.g. "view home", "post". */
  action: string;
  startedAt: number;
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

/**
 * Remember `trace` as the session's latest action (its name may still change: pageViewer names
 * it). A request records one action: a server action re-renders its page in the same request
 * (the same trace), and the action's name is the one kept.
 */
export function recordAction(token: string, trace: ActionTrace): void {
  const key = sessionKey(token);
  const actions = store.sessions.get(key) ?? [];
  if (actions.some((action) => action.traceId === trace.traceId)) return;
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

/** The session's recent actions, newest first. */
export function recentActions(token: string): ActionTrace[] {
  return (store.sessions.get(sessionKey(token)) ?? []).map((trace) => ({ ...trace }));
}

export function forgetSession(token: string): void {
  store.sessions.delete(sessionKey(token));
}
