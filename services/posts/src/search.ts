/**
 * Full-text search in PostgreSQL: `to_tsvector('english', text) @@ plainto_tsquery('english', query)`
 * — every word of the query, stemmed ("running" finds "run"), stop words dropped (a query of
 * only stop words or punctuation matches nothing, and is not an error). The expression is
 * the one the GIN index posts_text_fts was built on (see the init migration), so it is used.
 *
 * Order: ts_rank desc (more occurrences of the query's words rank higher), then newest first.
 * Pages are keyset pages on (rank, created_at, id): a post's rank for a query depends only on
 * the post and the query, so a cursor stays valid while new posts arrive.
 */
import { PAGE_SIZE_DEFAULT } from '@chirp/contracts';
import { encodeKeyset } from '@chirp/db';
import { searchAfter } from './cursor.js';
import { Prisma, type PrismaClient } from './generated/prisma/client.js';
import type { Page, PageRequest } from './timeline.js';
import { toWire, type StoredPost } from './wire.js';

interface Match extends Omit<StoredPost, 'createdAt'> {
  createdAt: Date | string;
  rank: number;
}

export async function searchPosts(prisma: PrismaClient, query: string, request: PageRequest): Promise<Page> {
  const limit = request.limit ?? PAGE_SIZE_DEFAULT;
  const after = request.cursor === undefined ? undefined : searchAfter(request.cursor);
  // PGlite's adapter cannot return every PostgreSQL type: rank is cast to float8 (a JS number).
  const rows = await prisma.$queryRaw<Match[]>`
    SELECT id, "authorId", "authorUsername", text, "createdAt", rank
    FROM (
      SELECT p.id, p.author_id AS "authorId", p.author_username AS "authorUsername", p.text,
             p.created_at AS "createdAt", ts_rank(to_tsvector('english', p.text), q)::float8 AS rank
      FROM posts p, plainto_tsquery('english', ${query}) AS q
      WHERE to_tsvector('english', p.text) @@ q
    ) AS matches
    ${
      after
        ? Prisma.sql`WHERE rank < ${after.rank}::float8
             OR (rank = ${after.rank}::float8 AND ("createdAt", id) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}))`
        : Prisma.empty
    }
    ORDER BY rank DESC, "createdAt" DESC, id DESC
    LIMIT ${limit + 1}`;
  const page = rows.slice(0, limit).map((row) => ({ ...row, createdAt: new Date(row.createdAt) }));
  const last = page.at(-1);
  return {
    posts: page.map(toWire),
    ...(rows.length > limit && last && { nextCursor: encodeKeyset(last) }),
  };
}
