/**
 * Home: the composer and the home timeline (the viewer's posts and those of everyone they
 * follow), live through notify; people to follow while nobody else is in it. Logged out: to /login.
 */
import type { Metadata } from 'next';
import { MAX_POST_CHARS } from '@chirp/contracts';
import { Composer } from '../components/Composer';
import { LiveTimeline } from '../components/LiveTimeline';
import { PostList } from '../components/PostList';
import { Problem } from '../components/Problem';
import { TimelinePager } from '../components/TimelinePager';
import { WhoToFollow } from '../components/WhoToFollow';
import { attempt } from '../lib/attempt';
import { timelinePageOf } from '../lib/input';
import { liveConnection } from '../lib/live';
import { requireViewer } from '../lib/session';

export const metadata: Metadata = { title: 'Home' };

interface Props {
  searchParams: Promise<{ cursor?: string | string[]; newer?: string | string[] }>;
}

export default async function HomePage({ searchParams }: Props) {
  const { cursor, newer } = await searchParams;
  const paging = timelinePageOf(cursor, newer) ?? {};
  const paged = paging.cursor !== undefined || paging.newerThan !== undefined;
  const signedIn = await attempt(() => requireViewer(paged ? 'page through home' : 'view home'));
  if (!signedIn.ok) return <Problem title="Cannot show your timeline" message={signedIn.message} />;
  const viewer = signedIn.value;
  const page = await attempt(() => viewer.call.posts.homeTimeline({ userId: viewer.user.id, ...paging }));

  return (
    <>
      <h1 className="visually-hidden">Home</h1>
      <Composer maxChars={MAX_POST_CHARS} />
      {page.ok && !paged && page.value.posts.every((post) => post.authorId === viewer.user.id) ? (
        <WhoToFollow viewer={viewer} />
      ) : null}
      {!page.ok ? (
        <Problem title="Cannot show your timeline" message={page.message} />
      ) : paged ? (
        <section aria-labelledby="paged-heading" className="timeline">
          <h2 id="paged-heading">{paging.cursor ? 'Older posts' : 'Newer posts'}</h2>
          <PostList posts={page.value.posts} empty="No posts here any more." viewerId={viewer.user.id} />
        </section>
      ) : (
        <LiveTimeline initial={page.value.posts} viewerId={viewer.user.id} {...await liveConnection(viewer.token)} />
      )}
      {page.ok ? <TimelinePager path="/" paged={paged} page={page.value} /> : null}
    </>
  );
}
