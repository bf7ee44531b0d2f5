/** Shapes more than one service speaks. */
import { Type, type Static } from '@sinclair/typebox';

export const MAX_POST_CHARS = 141;
export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;

export const UserId = Type.String({ minLength: 1, maxLength: 64, description: 'opaque user id' });

/** 3–20 of [a-z0-9_], compared case-insensitively (stored lowercase). */
export const Username = Type.String({ pattern: '^[A-Za-z0-9_]{3,20}$', description: '3 to 20 letters, digits or _' });

/** A profile's limits, in characters as postLength counts them (code points after trimming). */
export const MAX_DISPLAY_NAME_CHARS = 50;
export const MAX_BIO_CHARS = 160;

/** What a person says about themself: empty strings when not set. */
export const Profile = Type.Object({ displayName: Type.String(), bio: Type.String() });
export type Profile = Static<typeof Profile>;

export const User = Type.Object({
  id: UserId,
  username: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type User = Static<typeof User>;

/** A client-chosen key that makes a retried write apply once. */
export const IdempotencyKey = Type.Optional(Type.String({ minLength: 8, maxLength: 128 }));

export const PageRequest = {
  /** Opaque: whatever the previous page's nextCursor was. */
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_SIZE_MAX })),
};

export const Post = Type.Object({
  id: Type.String(),
  authorId: UserId,
  authorUsername: Type.String(),
  text: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Post = Static<typeof Post>;

export const PostPage = Type.Object({
  posts: Type.Array(Post),
  /** The page after this one: older posts (or, in search, lesser matches). */
  nextCursor: Type.Optional(Type.String()),
  /** Timelines paged back into: pass as `newerThan` for the posts just newer than this page. */
  newerCursor: Type.Optional(Type.String()),
});

/** A timeline page: the newest, older than `cursor`, or just newer than `newerThan` (not both). */
export const TimelinePageRequest = {
  ...PageRequest,
  newerThan: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
};
