/**
 * The social request mix, after DeathStarBench's social network (60% home timeline, 30% user
 * timeline, 10% compose post), with a small share of the other things people do, every request
 * through the web app's JSON API as a logged-in user. Who acts, and whose page is read, is drawn
 * by activity (a power law, social-graph.ts). The shares below are the exact ones; the report
 * prints them.
 */
import { auth, client, follows, posts, type Client } from '@chirp/contracts';
import type { Transport } from '@chirp/transport';
import type { Request, RequestSource } from '../load/run.js';
import type { TraceSampler, TracedRequest } from '../load/trace-sampler.js';
import type { WebApi } from '../stack/web-api.js';
import { postText, searchWord } from './social-graph.js';
import type { Draws, SeededUser } from './social-seed.js';

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

type Requests = Record<MixKind, (traced: TracedRequest) => Promise<unknown>>;

/** The mix through the web app's JSON API, as a logged-in user with a Bearer token. */
export function socialMix(api: WebApi, draws: Draws, sampler: TraceSampler): RequestSource {
  const { users, pickActive, random } = draws;
  const actor = () => users[pickActive()]!;
  const pair = pairDrawer(draws);
  return mixOf(sampler, random, {
    'home timeline': (t) => api.homeTimeline(actor().token, t.traceparent),
    'user timeline': (t) => api.userTimeline(actor().token, actor().username, t.traceparent),
    post: (t) => api.post(actor().token, postText(random), t.traceparent),
    follow: (t) => {
      const [who, other] = pair();
      return api.follow(who.token, other.username, t.traceparent);
    },
    unfollow: (t) => {
      const [who, other] = pair();
      return api.unfollow(who.token, other.username, t.traceparent);
    },
    search: (t) => api.search(actor().token, searchWord(random), t.traceparent),
  });
}

/**
 * The same mix straight to the services through their typed clients, with the calls the web app
 * makes for each kind of request (a user's page resolves the name first; a search also looks for
 * people) — but not its session check, which belongs to the web tier: what the transports carry.
 */
export function directMix(transport: Pick<Transport, 'request'>, draws: Draws, sampler: TraceSampler): RequestSource {
  const { users, pickActive, random } = draws;
  const actor = () => users[pickActive()]!;
  const pair = pairDrawer(draws);
  const [authClient, postsClient, followsClient]: [Client<typeof auth>, Client<typeof posts>, Client<typeof follows>] =
    [client(transport, auth), client(transport, posts), client(transport, follows)];
  const findUser = (t: TracedRequest, username: string) =>
    t.call('auth', 'findUsers', (parent) => authClient.findUsers({ prefix: username, limit: 5 }, { parent }));
  return mixOf(sampler, random, {
    'home timeline': (t) =>
      t.call('posts', 'homeTimeline', (parent) => postsClient.homeTimeline({ userId: actor().id }, { parent })),
    'user timeline': async (t) => {
      const { users: found } = await findUser(t, actor().username);
      const userId = found[0]!.id;
      return t.call('posts', 'userTimeline', (parent) => postsClient.userTimeline({ userId }, { parent }));
    },
    post: (t) => {
      const author = actor();
      const request = { authorId: author.id, authorUsername: author.username, text: postText(random) };
      return t.call('posts', 'create', (parent) => postsClient.create(request, { parent }));
    },
    follow: (t) => {
      const [who, other] = pair();
      const edge = { followerId: who.id, followeeId: other.id };
      return t.call('follows', 'follow', (parent) => followsClient.follow(edge, { parent }));
    },
    unfollow: (t) => {
      const [who, other] = pair();
      const edge = { followerId: who.id, followeeId: other.id };
      return t.call('follows', 'unfollow', (parent) => followsClient.unfollow(edge, { parent }));
    },
    search: (t) => {
      const word = searchWord(random);
      return Promise.all([
        t.call('posts', 'search', (parent) => postsClient.search({ query: word }, { parent })),
        findUser(t, word),
      ]);
    },
  });
}

/** An active user and anyone else (nobody follows themselves). */
function pairDrawer({ users, pickActive, random }: Draws): () => [SeededUser, SeededUser] {
  return () => {
    const actor = pickActive();
    const other = (actor + 1 + Math.floor(random() * (users.length - 1))) % users.length;
    return [users[actor]!, users[other]!];
  };
}

/** Draws each next request's kind by the shares, and traces it as the sampler says. */
function mixOf(sampler: TraceSampler, random: () => number, requests: Requests): RequestSource {
  let sum = 0;
  const cumulative = MIX_KINDS.map((kind) => (sum += MIX_SHARES[kind]));
  return (): Request => {
    const draw = random() * cumulative[cumulative.length - 1]!;
    const kind = MIX_KINDS[cumulative.findIndex((edge) => draw < edge)] ?? 'home timeline';
    return {
      kind,
      send: async () => {
        const traced = sampler.next(kind);
        const answer = await requests[kind](traced);
        traced.done();
        return answer;
      },
    };
  };
}
