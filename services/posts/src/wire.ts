/** A stored post as the contract speaks it: dates as ISO strings. */
import type { Post as WirePost } from '@chirp/contracts';

export interface StoredPost {
  id: string;
  authorId: string;
  authorUsername: string;
  text: string;
  createdAt: Date;
}

export function toWire(post: StoredPost): WirePost {
  return {
    id: post.id,
    authorId: post.authorId,
    authorUsername: post.authorUsername,
    text: post.text,
    createdAt: post.createdAt.toISOString(),
  };
}
