/**
 * A list of posts. Text is rendered as a React text node: whatever a post contains, it is
 * shown as characters, never parsed as HTML. Times read "3 min ago" (RelativeTime); the
 * viewer's own posts carry a Delete button.
 */
import Link from 'next/link';
import type { Post } from '@chirp/contracts';
import { Avatar } from './Avatar';
import { DeletePostButton } from './DeletePostButton';
import { RelativeTime } from './RelativeTime';

interface ItemProps {
  post: Post;
  /** Pushed live rather than rendered with the page. */
  fresh?: boolean;
  /** Who is looking, when logged in: their own posts can be deleted. */
  viewerId?: string | undefined;
}

export function PostItem({ post, fresh = false, viewerId }: ItemProps) {
  return (
    <li className={fresh ? 'post fresh' : 'post'} data-post-id={post.id}>
      <div className="post-meta">
        <Avatar username={post.authorUsername} size={24} />
        <Link href={`/u/${encodeURIComponent(post.authorUsername)}`} className="author">
          @{post.authorUsername}
        </Link>
        <RelativeTime iso={post.createdAt} />
        {viewerId === post.authorId ? <DeletePostButton postId={post.id} /> : null}
      </div>
      <p className="post-text">{post.text}</p>
    </li>
  );
}

export function PostList({ posts, empty, viewerId }: { posts: Post[]; empty: string; viewerId?: string | undefined }) {
  if (posts.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ol className="posts">
      {posts.map((post) => (
        <PostItem key={post.id} post={post} viewerId={viewerId} />
      ))}
    </ol>
  );
}
