/**
 * One page of a user's followers or of whom they follow, newest first, by keyset:
 * `(created_at, other id) < cursor`, ordered by the same pair descending, so each page is
 * one backwards range scan of the matching index (see prisma/schema.prisma) however deep
 * the reader has paged, and the other user's id breaks ties between follows made in the
 * same millisecond. One row more than asked for tells whether there is a next page.
 */
import { DomainError } from '@chirp/contracts';
import { decodeKeyset, encodeKeyset, type Sql, type Statement } from '@chirp/db';
import type { CallContext } from '@chirp/transport';

export type Direction = 'followers' | 'following';

/**
 * For each list, the statement of its first page and of a page after a cursor: prepared
 * statements (@chirp/db's sql.ts), as these are on the path of every home timeline and of every
 * post's fan-out. $1 the user, $2 the page size + 1, then the cursor's time and id.
 */
const PAGES: Record<Direction, { first: Statement; after: Statement }> = {
  followers: statements('followers', 'followee_id', 'follower_id'),
  following: statements('following', 'follower_id', 'followee_id'),
};

function statements(name: Direction, owner: string, listed: string): { first: Statement; after: Statement } {
  const select = `SELECT ${listed} AS id, created_at AS "createdAt" FROM follows WHERE ${owner} = $1`;
  const order = `ORDER BY created_at DESC, ${listed} DESC LIMIT $2`;
  return {
    first: { name: `follows.${name}`, text: `${select} ${order}` },
    after: {
      name: `follows.${name}_after`,
      text: `${select} AND (created_at, ${listed}) < ($3::timestamptz, $4) ${order}`,
    },
  };
}

export interface Page {
  userIds: string[];
  nextCursor?: string;
}

export async function listPage(
  sql: Sql,
  direction: Direction,
  request: { userId: string; cursor?: string; limit: number },
  context: CallContext,
): Promise<Page> {
  const after = request.cursor === undefined ? undefined : (decodeKeyset(request.cursor) ?? badCursor());
  const { first, after: next } = PAGES[direction];
  const rows = await sql.query<{ id: string; createdAt: Date }>(
    after === undefined ? first : next,
    after === undefined
      ? [request.userId, request.limit + 1]
      : [request.userId, request.limit + 1, after.createdAt.toISOString(), after.id],
    context.trace,
  );
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
  throw new DomainError('INVALID_ARGUMENT', 'bad cursor: pass back the nextCursor of the previous page unchanged');
}
