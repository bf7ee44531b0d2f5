/**
 * A user's page: their posts, how many follow them and whom they follow, and (for someone
 * else, when logged in) a follow / unfollow button. Anyone may look, logged in or not.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { FollowButton } from '../../../components/FollowButton';
import { PostList } from '../../../components/PostList';
import { Problem } from '../../../components/Problem';
import { attempt } from '../../../lib/attempt';
import { cursorOf, usernameFromPath } from '../../../lib/input';
import { servicesFor } from '../../../lib/services';
import { pageViewer } from '../../../lib/session';
import { userNamed } from '../../../lib/users';

interface Props {
  params: Promise<{ username: string }>;
  searchParams: Promise<{ cursor?: string | string[] }>;
}

const JOINED = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const username = usernameFromPath((await params).username);
  return { title: username === undefined ? 'No such page' : `@${username}` };
}

export default async function UserPage({ params, searchParams }: Props) {
  const username = usernameFromPath((await params).username);
  if (username === undefined) notFound();
  const { cursor: rawCursor } = await searchParams;
  const cursor = cursorOf(rawCursor) ?? undefined;

  const loaded = await attempt(async () => {
    const viewer = await pageViewer(`view @${username}`);
    const call = viewer?.call ?? servicesFor(`view @${username}`);
    const user = await userNamed(call, username);
    if (user === undefined) return { viewer, user };
    const itsMe = viewer?.user.id === user.id;
    const [timeline, counts, following] = await Promise.all([
      call.posts.userTimeline({ userId: user.id, ...(cursor ? { cursor } : {}) }),
      call.follows.counts({ userId: user.id }),
      viewer && !itsMe
        ? call.follows.isFollowing({ followerId: viewer.user.id, followeeId: user.id }).then((r) => r.following)
        : Promise.resolve(false),
    ]);
    return { viewer, user, itsMe, timeline, counts, following };
  });
  if (!loaded.ok) return <Problem title={`Cannot show @${username}`} message={loaded.message} />;
  const { viewer, user, itsMe, timeline, counts, following } = loaded.value;
  if (user === undefined) notFound();

  return (
    <>
      <section className="profile" aria-labelledby="profile-heading">
        <h1 id="profile-heading">@{user.username}</h1>
        <p className="muted">Joined {JOINED.format(new Date(user.createdAt))}</p>
        <p className="counts">
          <span data-testid="followers">
            <strong>{counts?.followers ?? 0}</strong> {counts?.followers === 1 ? 'follower' : 'followers'}
          </span>
          <span data-testid="following">
            <strong>{counts?.following ?? 0}</strong> following
          </span>
        </p>
        {viewer === null ? (
          <p>
            <Link href="/login">Log in</Link> to follow @{user.username}.
          </p>
        ) : itsMe ? null : (
          <FollowButton userId={user.id} username={user.username} following={following ?? false} />
        )}
      </section>
      <section aria-labelledby="posts-heading" className="timeline">
        <h2 id="posts-heading">{cursor ? 'Older posts' : 'Posts'}</h2>
        <PostList
          posts={timeline?.posts ?? []}
          empty={`@${user.username} has not posted yet.`}
          viewerId={viewer?.user.id}
        />
        {timeline?.nextCursor ? (
          <p className="pager">
            <Link href={`/u/${user.username}?cursor=${encodeURIComponent(timeline.nextCursor)}`}>Older posts</Link>
          </p>
        ) : null}
      </section>
    </>
  );
}
