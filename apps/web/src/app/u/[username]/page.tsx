/**
 * A user's page: their avatar, display name and bio (editable by their owner), their posts, how
 * many follow them and whom they follow (each a link to the list), and (for someone else, when
 * logged in) a follow / unfollow button. Anyone may look, logged in or not.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { Avatar } from '../../../components/Avatar';
import { FollowButton } from '../../../components/FollowButton';
import { PostList } from '../../../components/PostList';
import { Problem } from '../../../components/Problem';
import { ProfileForm } from '../../../components/ProfileForm';
import { TimelinePager } from '../../../components/TimelinePager';
import { attempt } from '../../../lib/attempt';
import { PROFILE_LIMITS, timelinePageOf, usernameFromPath } from '../../../lib/input';
import { servicesFor } from '../../../lib/services';
import { pageViewer } from '../../../lib/session';
import { userNamed } from '../../../lib/users';

interface Props {
  params: Promise<{ username: string }>;
  searchParams: Promise<{ cursor?: string | string[]; newer?: string | string[] }>;
}

const JOINED = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const username = usernameFromPath((await params).username);
  return { title: username === undefined ? 'No such page' : `@${username}` };
}

export default async function UserPage({ params, searchParams }: Props) {
  const username = usernameFromPath((await params).username);
  if (username === undefined) notFound();
  const { cursor, newer } = await searchParams;
  const paging = timelinePageOf(cursor, newer) ?? {};
  const paged = paging.cursor !== undefined || paging.newerThan !== undefined;

  const loaded = await attempt(async () => {
    const viewer = await pageViewer(`view @${username}`);
    const call = viewer?.call ?? servicesFor(`view @${username}`);
    const user = await userNamed(call, username);
    if (user === undefined) return { viewer, user };
    const itsMe = viewer?.user.id === user.id;
    const [profile, timeline, counts, following] = await Promise.all([
      call.auth.getProfile({ userId: user.id }),
      call.posts.userTimeline({ userId: user.id, ...paging }),
      call.follows.counts({ userId: user.id }),
      viewer && !itsMe
        ? call.follows.isFollowing({ followerId: viewer.user.id, followeeId: user.id }).then((r) => r.following)
        : Promise.resolve(false),
    ]);
    return { viewer, user, itsMe, profile, timeline, counts, following };
  });
  if (!loaded.ok) return <Problem title={`Cannot show @${username}`} message={loaded.message} />;
  const { viewer, user, itsMe, profile, timeline, counts, following } = loaded.value;
  if (user === undefined) notFound();

  return (
    <>
      <section className="profile" aria-labelledby="profile-heading">
        <div className="profile-head">
          <Avatar username={user.username} size={64} />
          <div>
            <h1 id="profile-heading">{profile?.displayName || `@${user.username}`}</h1>
            {profile?.displayName ? <p className="muted handle">@{user.username}</p> : null}
          </div>
        </div>
        {profile?.bio ? (
          <p className="bio" data-testid="bio">
            {profile.bio}
          </p>
        ) : null}
        <p className="muted">Joined {JOINED.format(new Date(user.createdAt))}</p>
        <p className="counts">
          <Link href={`/u/${user.username}/followers`} data-testid="followers">
            <strong>{counts?.followers ?? 0}</strong> {counts?.followers === 1 ? 'follower' : 'followers'}
          </Link>
          <Link href={`/u/${user.username}/following`} data-testid="following">
            <strong>{counts?.following ?? 0}</strong> following
          </Link>
        </p>
        {viewer === null ? (
          <p>
            <Link href="/login">Log in</Link> to follow @{user.username}.
          </p>
        ) : itsMe ? (
          <ProfileForm displayName={profile?.displayName ?? ''} bio={profile?.bio ?? ''} limits={PROFILE_LIMITS} />
        ) : (
          <FollowButton userId={user.id} username={user.username} following={following ?? false} />
        )}
      </section>
      <section aria-labelledby="posts-heading" className="timeline">
        <h2 id="posts-heading">{paging.cursor ? 'Older posts' : paging.newerThan ? 'Newer posts' : 'Posts'}</h2>
        <PostList
          posts={timeline?.posts ?? []}
          empty={paged ? 'No posts here any more.' : `@${user.username} has not posted yet.`}
          viewerId={viewer?.user.id}
        />
        {timeline ? <TimelinePager path={`/u/${user.username}`} paged={paged} page={timeline} /> : null}
      </section>
    </>
  );
}
