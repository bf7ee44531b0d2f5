/**
 * A list of posts. Text is rendered as a React text node: whatever a post contains, it is
 * shown as characters, never parsed as HTML. Times are printed in UTC so the server's and the
 * browser's renderings agree.
 */
import Link from 'next/link';
import type { Post } from '@chirp/contracts';

const TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export function PostItem({ post, fresh = false }: { post: Post; fresh?: boolean }) {
  return (
    <li className={fresh ? 'post fresh' : 'post'} data-post-id={post.id}>
      <div className="post-meta">
        <Link href={`/u/${encodeURIComponent(post.authorUsername)}`} className="author">
          @{post.authorUsername}
        </Link>
        <time dateTime={post.createdAt}>{TIME.format(new Date(post.createdAt))} UTC</time>
      </div>
      <p className="post-text">{post.text}</p>
    </li>
  );
}

export function PostList({ posts, empty }: { posts: Post[]; empty: string }) {
  if (posts.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ol className="posts">
      {posts.map((post) => (
        <PostItem key={post.id} post={post} />
      ))}
    </ol>
  );
}
