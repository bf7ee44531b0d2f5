/**
 * People to follow, for a home timeline with nobody else in it: the most followed, then whoever
 * posted last, leaving out the viewer and whom they follow already; each with a follow button.
 * Suggestions are a courtesy: if a service cannot be reached they are simply not shown.
 */
import { attempt } from '../lib/attempt';
import { asPeople, usersById, type Person } from '../lib/people';
import { timeAgo } from '../lib/time';
import type { Viewer } from '../lib/viewer';
import { PeopleList } from './PeopleList';

const SHOWN = 8;

export async function WhoToFollow({ viewer }: { viewer: Viewer }) {
  const found = await attempt(() => suggestions(viewer));
  if (!found.ok || found.value.length === 0) return null;
  return (
    <section aria-labelledby="suggestions-heading" className="suggestions">
      <h2 id="suggestions-heading">Who to follow</h2>
      <PeopleList people={found.value} empty="" viewerId={viewer.user.id} />
    </section>
  );
}

async function suggestions({ call, user }: Viewer): Promise<Person[]> {
  const [popular, recent] = await Promise.all([
    call.follows.mostFollowed({ viewerId: user.id, limit: SHOWN }),
    call.posts.recentAuthors({ limit: SHOWN * 2 }),
  ]);
  const followers = new Map(popular.users.map((u) => [u.userId, u.followers]));
  const now = Date.now();
  const candidates = [
    ...(await usersById(call, [...followers.keys()])).map((u) => ({
      ...u,
      note: followers.get(u.id) === 1 ? '1 follower' : `${followers.get(u.id)} followers`,
    })),
    ...recent.authors.map((a) => ({
      id: a.userId,
      username: a.username,
      note: `posted ${timeAgo(Date.parse(a.lastPostAt), now)}`,
    })),
  ].filter((person, i, all) => person.id !== user.id && all.findIndex((p) => p.id === person.id) === i);
  const people = await asPeople(call, user.id, candidates.slice(0, 100));
  return people.filter((person) => !person.followed).slice(0, SHOWN);
}
