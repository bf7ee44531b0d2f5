/**
 * Full-text search in PostgreSQL: `search_vector @@ plainto_tsquery('english', query)`, where
 * search_vector is `to_tsvector('english', text)` stored with each post and GIN-indexed (the
 * search_vector migration) — every word of the query, stemmed ("running" finds "run"), stop
 * words dropped (a query of only stop words or punctuation matches nothing, and is not an error).
 *
 * Order: ts_rank desc (more occurrences of the query's words rank higher), then newest first.
 * Pages are keyset pages on (rank, created_at, id): a post's rank for a query depends only on
 * the post and the query, so a cursor stays valid while new posts arrive.
 */
import { PAGE_SIZE_DEFAULT } from '@chirp/contracts';
import { encodeKeyset, type Sql } from '@chirp/db';
import type { CallContext } from '@chirp/transport';
import { searchAfter } from './cursor.js';
import { SEARCH } from './queries.js';
import type { Page, PageRequest } from './timeline.js';
import { toWire, type StoredPost } from './wire.js';

interface Match extends StoredPost {
  rank: number;
}

export async function searchPosts(sql: Sql, query: string, request: PageRequest, context: CallContext): Promise<Page> {
  const limit = request.limit ?? PAGE_SIZE_DEFAULT;
  const after = request.cursor === undefined ? undefined : searchAfter(request.cursor);
  const rows = await sql.query<Match>(
    after === undefined ? SEARCH.first : SEARCH.after,
    after === undefined ? [query, limit + 1] : [query, limit + 1, after.rank, after.createdAt.toISOString(), after.id],
    context.trace,
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    posts: page.map(toWire),
    ...(rows.length > limit && last && { nextCursor: encodeKeyset(last) }),
  };
}
