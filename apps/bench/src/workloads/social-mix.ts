/**
 * The social request mix, after DeathStarBench's social network (60% home timeline, 30% user
 * timeline, 10% compose post), with a small share of the other things people do, every request
 * through the web app's JSON API as a logged-in user. Who acts, and whose page is read, is drawn
 * by activity (a power law, social-graph.ts). The shares below are the exact ones; the report
 * prints them.
 */
import type { Request, RequestSource } from '../load/run.js';
import type { WebApi } from '../stack/web-api.js';
import { postText, searchWord } from './social-graph.js';
import type { SeededUser } from './social-seed.js';

export const MIX_KINDS = ['home timeline', 'user timeline', 'post', 'follow', 'unfollow', 'search'] as const;
export type MixKind = (typeof MIX_KINDS)[number];

/** Share of requests of each kind; sums to 1. */
export const MIX_SHARES: Record<MixKind, number> = {
  'home timeline': 0.59,
  'user timeline': 0.29,
  post: 0.1,
  follow: 0.005,
  unfollow: 0.005,
  search: 0.01,
};

export function socialMix(
  api: WebApi,
  users: SeededUser[],
  pickActive: () => number,
  random: () => number,
): RequestSource {
  const requests: Record<MixKind, () => Promise<unknown>> = {
    'home timeline': () => api.homeTimeline(users[pickActive()]!.token),
    'user timeline': () => api.userTimeline(users[pickActive()]!.token, users[pickActive()]!.username),
    post: () => api.post(users[pickActive()]!.token, postText(random)),
    follow: () => {
      const [actor, other] = pair();
      return api.follow(actor.token, other.username);
    },
    unfollow: () => {
      const [actor, other] = pair();
      return api.unfollow(actor.token, other.username);
    },
    search: () => api.search(users[pickActive()]!.token, searchWord(random)),
  };
  /** An active user and anyone else (nobody follows themselves). */
  const pair = (): [SeededUser, SeededUser] => {
    const actor = pickActive();
    const other = (actor + 1 + Math.floor(random() * (users.length - 1))) % users.length;
    return [users[actor]!, users[other]!];
  };
  let sum = 0;
  const cumulative = MIX_KINDS.map((kind) => (sum += MIX_SHARES[kind]));
  return (): Request => {
    const draw = random() * cumulative[cumulative.length - 1]!;
    const kind = MIX_KINDS[cumulative.findIndex((edge) => draw < edge)] ?? 'home timeline';
    return { kind, send: requests[kind] };
  };
}
