/**
 * The follows service: who follows whom, over Prisma (the lists, on every home timeline and
 * post fan-out, as prepared statements: pages.ts). Follow and unfollow are idempotent
 * by construction (an insert that skips an existing pair, a delete of whatever is there),
 * so a retried or concurrent duplicate call is harmless and needs no idempotency key.
 * A new edge is only stored between users auth says exist (users.ts).
 */
import { DomainError, follows, PAGE_SIZE_DEFAULT, type Implementation } from '@chirp/contracts';
import type { Sql, Statement } from '@chirp/db';
import type { PrismaClient } from './generated/prisma/client.js';
import { listPage } from './pages.js';
import type { UserDirectory } from './users.js';

const SUGGESTIONS_DEFAULT = 5;

/**
 * The most followed users ($2 of them), leaving out $1 and whom $1 follows. It counts every
 * follow: fine at a demo's scale, a materialised count when the follows table grows large.
 */
const MOST_FOLLOWED: Statement = {
  name: 'follows.most_followed',
  text: `SELECT followee_id AS "userId", count(*)::int AS followers FROM follows f
         WHERE followee_id <> $1
           AND NOT EXISTS (SELECT 1 FROM follows mine WHERE mine.follower_id = $1 AND mine.followee_id = f.followee_id)
         GROUP BY followee_id ORDER BY followers DESC, followee_id LIMIT $2`,
};

export interface FollowsDeps {
  prisma: PrismaClient;
  /** The same database, for the lists' prepared statements (pages.ts). */
  sql: Sql;
  users: UserDirectory;
}

export function createFollowsService({ prisma, sql, users }: FollowsDeps): Implementation<typeof follows> {
  return {
    async follow({ followerId, followeeId }, context) {
      if (followerId === followeeId) throw new DomainError('INVALID_ARGUMENT', 'you cannot follow yourself');
      await users.requireExisting([followerId, followeeId], context);
      // INSERT … ON CONFLICT DO NOTHING: concurrent identical follows all succeed, one row.
      await sql.traced(context.trace, 'INSERT follows', () =>
        prisma.follow.createMany({ data: [{ followerId, followeeId }], skipDuplicates: true }),
      );
      return { following: true };
    },

    async unfollow({ followerId, followeeId }, context) {
      await sql.traced(context.trace, 'DELETE follows', () =>
        prisma.follow.deleteMany({ where: { followerId, followeeId } }),
      );
      return { following: false };
    },

    async isFollowing({ followerId, followeeId }, context) {
      const edge = await sql.traced(context.trace, 'SELECT follows', () =>
        prisma.follow.findUnique({
          where: { followerId_followeeId: { followerId, followeeId } },
          select: { createdAt: true },
        }),
      );
      return { following: edge !== null };
    },

    followers: ({ userId, cursor, limit }, context) =>
      listPage(sql, 'followers', { userId, cursor, limit: limit ?? PAGE_SIZE_DEFAULT }, context),

    following: ({ userId, cursor, limit }, context) =>
      listPage(sql, 'following', { userId, cursor, limit: limit ?? PAGE_SIZE_DEFAULT }, context),

    async followingAmong({ followerId, userIds }, context) {
      const edges = await sql.traced(context.trace, 'SELECT follows', () =>
        prisma.follow.findMany({
          where: { followerId, followeeId: { in: userIds } },
          select: { followeeId: true },
        }),
      );
      const followed = new Set(edges.map((edge) => edge.followeeId));
      return { userIds: userIds.filter((id) => followed.has(id)) };
    },

    async mostFollowed({ viewerId, limit = SUGGESTIONS_DEFAULT }, context) {
      const rows = await sql.query<{ userId: string; followers: number }>(
        MOST_FOLLOWED,
        [viewerId ?? '', limit],
        context.trace,
      );
      return { users: rows.map((row) => ({ userId: row.userId, followers: Number(row.followers) })) };
    },

    async counts({ userId }, context) {
      const count = (where: { followeeId: string } | { followerId: string }) =>
        sql.traced(context.trace, 'SELECT follows', () => prisma.follow.count({ where }));
      const [followers, following] = await Promise.all([count({ followeeId: userId }), count({ followerId: userId })]);
      return { followers, following };
    },
  };
}
