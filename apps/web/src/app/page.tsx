/**
 * Home: the composer and the home timeline (the viewer's posts and those of everyone they
 * follow), live through notify. Logged out: to /login.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { MAX_POST_CHARS } from '@chirp/contracts';
import { Composer } from '../components/Composer';
import { LiveTimeline } from '../components/LiveTimeline';
import { PostList } from '../components/PostList';
import { Problem } from '../components/Problem';
import { attempt } from '../lib/attempt';
import { cursorOf } from '../lib/input';
import { liveConnection } from '../lib/live';
import { requireViewer } from '../lib/session';

export const metadata: Metadata = { title: 'Home' };

export default async function HomePage({ searchParams }: { searchParams: Promise<{ cursor?: string | string[] }> }) {
  const { cursor: rawCursor } = await searchParams;
  const cursor = cursorOf(rawCursor) ?? undefined;
  const signedIn = await attempt(() => requireViewer(cursor ? 'view older home posts' : 'view home'));
  if (!signedIn.ok) return <Problem title="Cannot show your timeline" message={signedIn.message} />;
  const viewer = signedIn.value;
  const page = await attempt(() =>
    viewer.call.posts.homeTimeline({ userId: viewer.user.id, ...(cursor ? { cursor } : {}) }),
  );

  return (
    <>
      <h1 className="visually-hidden">Home</h1>
      <Composer maxChars={MAX_POST_CHARS} />
      {!page.ok ? (
        <Problem title="Cannot show your timeline" message={page.message} />
      ) : cursor ? (
        <section aria-labelledby="older-heading" className="timeline">
          <h2 id="older-heading">Older posts</h2>
          <PostList posts={page.value.posts} empty="No older posts." viewerId={viewer.user.id} />
        </section>
      ) : (
        <LiveTimeline initial={page.value.posts} viewerId={viewer.user.id} {...await liveConnection(viewer.token)} />
      )}
      {page.ok && page.value.nextCursor ? (
        <p className="pager">
          <Link href={`/?cursor=${encodeURIComponent(page.value.nextCursor)}`}>Older posts</Link>
        </p>
      ) : null}
    </>
  );
}
