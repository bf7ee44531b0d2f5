/**
 * Someone's followers, or whom they follow, most recent first, a page at a time: each person a
 * link with a follow button. Shared by the followers/ and following/ pages.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { PeopleList } from '../../../components/PeopleList';
import { Problem } from '../../../components/Problem';
import { attempt } from '../../../lib/attempt';
import { cursorOf, usernameFromPath } from '../../../lib/input';
import { asPeople, usersById } from '../../../lib/people';
import { servicesFor } from '../../../lib/services';
import { pageViewer } from '../../../lib/session';
import { userNamed } from '../../../lib/users';

export type Direction = 'followers' | 'following';

export interface FollowListProps {
  params: Promise<{ username: string }>;
  searchParams: Promise<{ cursor?: string | string[] }>;
}

const TITLE: Record<Direction, (username: string) => string> = {
  followers: (username) => `Who follows @${username}`,
  following: (username) => `Whom @${username} follows`,
};

const EMPTY: Record<Direction, (username: string) => string> = {
  followers: (username) => `Nobody follows @${username} yet.`,
  following: (username) => `@${username} follows nobody yet.`,
};

export async function followListMetadata({ params }: FollowListProps, direction: Direction): Promise<Metadata> {
  const username = usernameFromPath((await params).username);
  return { title: username === undefined ? 'No such page' : TITLE[direction](username) };
}

export async function FollowList({ params, searchParams, direction }: FollowListProps & { direction: Direction }) {
  const username = usernameFromPath((await params).username);
  if (username === undefined) notFound();
  const cursor = cursorOf((await searchParams).cursor) ?? undefined;
  const action = `view ${direction} of @${username}`;

  const loaded = await attempt(async () => {
    const viewer = await pageViewer(action);
    const call = viewer?.call ?? servicesFor(action);
    const user = await userNamed(call, username);
    if (user === undefined) return undefined;
    const page = await call.follows[direction]({ userId: user.id, ...(cursor ? { cursor } : {}) });
    const people = await asPeople(call, viewer?.user.id, await usersById(call, page.userIds));
    return { user, people, nextCursor: page.nextCursor, viewerId: viewer?.user.id };
  });
  if (!loaded.ok) return <Problem title={`Cannot show ${direction} of @${username}`} message={loaded.message} />;
  if (loaded.value === undefined) notFound();
  const { user, people, nextCursor, viewerId } = loaded.value;

  return (
    <section aria-labelledby="list-heading">
      <p>
        <Link href={`/u/${user.username}`}>← @{user.username}</Link>
      </p>
      <h1 id="list-heading">{TITLE[direction](user.username)}</h1>
      <PeopleList people={people} empty={EMPTY[direction](user.username)} viewerId={viewerId} />
      {nextCursor ? (
        <p className="pager">
          <Link href={`/u/${user.username}/${direction}?cursor=${encodeURIComponent(nextCursor)}`}>More</Link>
        </p>
      ) : null}
    </section>
  );
}
