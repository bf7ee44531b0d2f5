/**
 * Seeding a stack with the generated graph, straight through the services' typed clients
 * (@chirp/contracts over the transport under test, as the web app calls them) rather than
 * the web API: 1,000 sign-ups and log-ins and ~10,000 follows through Next's route handlers
 * would take minutes per transport, and seeding is not what is measured. Sign-up and log-in
 * still hash with bcrypt, at cost 4 in the bench stack (AUTH_BCRYPT_COST) for the same reason.
 */
import { auth, client, chirpTransportConfig, follows, posts } from '@chirp/contracts';
import { createTransport } from '@chirp/transport';
import type { SocialSettings } from '../settings.js';
import type { Stack } from '../stack/stack.js';
import { activityPicker, generateGraph, postText, seededRandom, type SocialGraph } from './social-graph.js';

export const SEED_PASSWORD = 'bench password 1';
/** Calls in flight while seeding. */
const SEED_CONCURRENCY = 16;

export interface SeededUser {
  id: string;
  username: string;
  token: string;
}

/** Who does what in a mix: the seeded users, and draws of an active one (by activity) and of chance. */
export interface Draws {
  users: SeededUser[];
  pickActive: () => number;
  random: () => number;
}

/** Every stack seeded for the social mix serves the same network: the graph comes from this seed. */
const GRAPH_SEED = 20_251_123;

/** The social network `settings` describe, generated from GRAPH_SEED and seeded on `stack`. */
export async function seedSocial(
  stack: Stack,
  settings: Pick<SocialSettings, 'users' | 'followsPerUser' | 'seedPosts'>,
): Promise<{ graph: SocialGraph; draws: Draws }> {
  const random = seededRandom(GRAPH_SEED);
  const graph = generateGraph(settings.users, settings.followsPerUser, random);
  const pickActive = activityPicker(settings.users, random);
  const users = await seedGraph(stack, graph, settings.seedPosts, pickActive, random);
  return { graph, draws: { users, pickActive, random } };
}

/** Sign up and log in every user, then make every follow and the seed posts; returns the users with their tokens. */
export async function seedGraph(
  stack: Stack,
  graph: SocialGraph,
  seedPosts: number,
  pickAuthor: () => number,
  random: () => number,
): Promise<SeededUser[]> {
  const transport = createTransport(chirpTransportConfig(stack.clientEnv));
  try {
    const authClient = client(transport, auth);
    const users = await inParallel(graph.usernames, async (username) => {
      const { user } = await authClient.signUp({ username, password: SEED_PASSWORD });
      const { token } = await authClient.logIn({ username, password: SEED_PASSWORD });
      return { id: user.id, username, token };
    });
    const followsClient = client(transport, follows);
    await inParallel(graph.follows, ([follower, followee]) =>
      followsClient.follow({ followerId: users[follower]!.id, followeeId: users[followee]!.id }),
    );
    const postsClient = client(transport, posts);
    const authors = Array.from({ length: seedPosts }, () => users[pickAuthor()]!);
    await inParallel(authors, (author) =>
      postsClient.create({ authorId: author.id, authorUsername: author.username, text: postText(random) }),
    );
    return users;
  } finally {
    await transport.close();
  }
}

/** `work` on every item, SEED_CONCURRENCY at a time; results in the items' order. */
async function inParallel<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return results;
}
