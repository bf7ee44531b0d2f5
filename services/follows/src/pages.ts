/**
 * One page of a user's followers or of whom they follow, newest first, by keyset:
 * `(created_at, other id) < cursor`, ordered by the same pair descending, so each page is
 * one backwards range scan of the matching index (see prisma/schema.prisma) however deep
 * the reader has paged, and the other user's id breaks ties between follows made in the
 * same millisecond. One row more than asked for tells whether there is a next page.
 */
import { decodeKeyset, encodeKeyset } from '@chirp/db';
import { TransportError } from '@chirp/transport';
import { Prisma, type PrismaClient } from './generated/prisma/client.js';

const { raw, sql } = Prisma;

export type Direction = 'followers' | 'following';

/** For each list: the column naming the user whose list it is, and the column listed. */
const COLUMNS: Record<Direction, { owner: string; listed: string }> = {
  followers: { owner: 'followee_id', listed: 'follower_id' },
  following: { owner: 'follower_id', listed: 'followee_id' },
};

export interface Page {
  userIds: string[];
  nextCursor?: string;
}

export async function listPage(
  prisma: PrismaClient,
  direction: Direction,
  request: { userId: string; cursor?: string; limit: number },
): Promise<Page> {
  const { owner, listed } = COLUMNS[direction];
  const after = request.cursor === undefined ? undefined : (decodeKeyset(request.cursor) ?? badCursor());
  const before = after
    ? sql`AND (created_at, ${raw(listed)}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id})`
    : sql``;
  const rows = await prisma.$queryRaw<{ id: string; createdAt: Date | string }[]>`
    SELECT ${raw(listed)} AS id, created_at AS "createdAt"
    FROM follows
    WHERE ${raw(owner)} = ${request.userId} ${before}
    ORDER BY created_at DESC, ${raw(listed)} DESC
    LIMIT ${request.limit + 1}`;
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  return {
    userIds: page.map((row) => row.id),
    ...(rows.length > request.limit && last
      ? { nextCursor: encodeKeyset({ id: last.id, createdAt: new Date(last.createdAt) }) }
      : {}),
  };
}

function badCursor(): never {
  throw new TransportError('INVALID_ARGUMENT', 'bad cursor: pass back the nextCursor of the previous page unchanged');
}
