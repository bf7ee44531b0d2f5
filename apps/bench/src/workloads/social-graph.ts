/**
 * The generated social network the social mix runs on, as plain data (no I/O):
 *
 * - Follows by preferential attachment (Barabási–Albert): users join one by one and each
 *   follows `followsPerUser` earlier users, picked with probability ∝ 1 + their followers so
 *   far. Follower counts then follow a power law: a few users are followed by hundreds, most
 *   by a handful — as on real networks, and what makes fan-out and home timelines uneven.
 * - Activity by a Zipf draw (exponent 1) over the users in a random order: who writes the seed
 *   posts, and who acts in the request mix. A few users do most of the requests.
 *
 * A seeded random generator makes the graph and the mix the same on every transport.
 */

export interface SocialGraph {
  usernames: string[];
  /** [follower, followee] index pairs. */
  follows: [number, number][];
  /** Followers of each user, by index. */
  followers: number[];
}

/** A small, fast, seedable generator (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateGraph(users: number, followsPerUser: number, random: () => number): SocialGraph {
  const usernames = Array.from({ length: users }, (_, i) => `user${i}`);
  const follows: [number, number][] = [];
  const followers = new Array<number>(users).fill(0);
  // Each user appears once, plus once per follower: a uniform pick from it is ∝ 1 + followers.
  const pool: number[] = [];
  for (let user = 0; user < users; user++) {
    const chosen = new Set<number>();
    const want = Math.min(followsPerUser, user);
    while (chosen.size < want) chosen.add(pool[Math.floor(random() * pool.length)]!);
    for (const followee of chosen) {
      follows.push([user, followee]);
      followers[followee]!++;
      pool.push(followee);
    }
    pool.push(user);
  }
  return { usernames, follows, followers };
}

/** Draws user indexes by activity: a Zipf (exponent 1) over the users in a random order. */
export function activityPicker(users: number, random: () => number): () => number {
  const order = Array.from({ length: users }, (_, i) => i);
  for (let i = users - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= users; rank++) cumulative.push((total += 1 / rank));
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = users - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return order[lo]!;
  };
}

const WORDS = (
  'coffee rain morning train music garden deploy latency queue socket packet broker timeline ' +
  'weekend football pasta sunset library bicycle concert river mountain winter summer ' +
  'kernel compiler review meeting lunch pizza chess movie podcast guitar ocean forest'
).split(' ');

/** A post of 3–9 words (always under 141 characters); the words are what search finds. */
export function postText(random: () => number): string {
  const count = 3 + Math.floor(random() * 7);
  return Array.from({ length: count }, () => searchWord(random)).join(' ');
}

export function searchWord(random: () => number): string {
  return WORDS[Math.floor(random() * WORDS.length)]!;
}
