/**
 * The statements on posts' hot paths — timelines, a post's insert, search — run as prepared
 * statements on the driver (@chirp/db's sql.ts: Prisma's per-query cost was most of what posts
 * spent on a timeline). Rows come back as StoredPost (wire.ts) takes them.
 */
import type { Statement } from '@chirp/db';

const COLUMNS = `id, author_id AS "authorId", author_username AS "authorUsername", text, created_at AS "createdAt"`;
const NEWEST_FIRST = 'ORDER BY created_at DESC, id DESC';

/**
 * One author's posts ($1), newest first, $2 of them; `after`: older than ($3 time, $4 id);
 * `before`: the $2 oldest of those newer than ($3, $4), oldest first (the caller turns them round).
 */
export const USER_TIMELINE = timeline(
  'posts.user_timeline',
  (page) => `SELECT ${COLUMNS} FROM posts WHERE author_id = $1 ${page.condition} ${page.order} LIMIT $2`,
);
/**
 * The posts of any of a few authors $1 (an array), the same way: at most $2 of each author's,
 * each read from the (author, time) index, then the first $2 of those. Under the social mix
 * (11 authors) this took a third of `author_id = ANY($1)`'s time (0.12 against 0.36 ms), which
 * reads every post of every author or walks the time index past everyone else's; but it reads up
 * to authors × $2 rows, so for many authors (timeline.ts says how many) HOME_TIMELINE_MANY wins.
 */
export const HOME_TIMELINE_FEW = timeline(
  'posts.home_timeline_few',
  (page) => `SELECT p.* FROM unnest($1::text[]) AS a(author_id) CROSS JOIN LATERAL
               (SELECT ${COLUMNS} FROM posts WHERE posts.author_id = a.author_id ${page.condition} ${page.order} LIMIT $2) AS p
             ${page.outerOrder} LIMIT $2`,
);
/** The posts of any of many authors $1, the same way, found among all posts in time order. */
export const HOME_TIMELINE_MANY = timeline(
  'posts.home_timeline_many',
  (page) => `SELECT ${COLUMNS} FROM posts WHERE author_id = ANY($1::text[]) ${page.condition} ${page.order} LIMIT $2`,
);

interface PageClauses {
  /** `AND …` keeping the posts past the cursor, or nothing. */
  condition: string;
  /** The page's order, on the posts table's columns. */
  order: string;
  /** The same order on COLUMNS' names, for a query over selected rows. */
  outerOrder: string;
}

/** The three page statements of a timeline whose query, given a page's clauses, is `select`. */
function timeline(
  name: string,
  select: (page: PageClauses) => string,
): { first: Statement; after: Statement; before: Statement } {
  const newest = { order: NEWEST_FIRST, outerOrder: 'ORDER BY "createdAt" DESC, id DESC' };
  const oldest = { order: 'ORDER BY created_at, id', outerOrder: 'ORDER BY "createdAt", id' };
  return {
    first: { name, text: select({ condition: '', ...newest }) },
    after: {
      name: `${name}_after`,
      text: select({ condition: 'AND (created_at, id) < ($3::timestamptz, $4)', ...newest }),
    },
    before: {
      name: `${name}_before`,
      text: select({ condition: 'AND (created_at, id) > ($3::timestamptz, $4)', ...oldest }),
    },
  };
}

/**
 * A new post and its post.created event ($7 payload, $8 traceparent) in the outbox, in one
 * statement (so one transaction: the event is as durable as the post, outbox.ts); nothing, and
 * no event, when the author already made one with this idempotency key (then EARLIER_POST
 * finds it). Concurrent creates with one key meet at the unique index: one row, one event.
 */
export const INSERT_POST: Statement = {
  name: 'posts.insert',
  text: `WITH inserted AS (
           INSERT INTO posts (id, created_at, text, author_id, author_username, idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (author_id, idempotency_key) DO NOTHING
           RETURNING ${COLUMNS}),
         event AS (
           INSERT INTO outbox (topic, payload, traceparent)
           SELECT 'post.created', $7::jsonb, $8 FROM inserted RETURNING id)
         SELECT inserted.*, (SELECT id::text FROM event) AS "outboxId" FROM inserted`,
};

/**
 * Post $1, if author $2 wrote it: gone from every timeline and from search with its row, and
 * its post.deleted event ($3 payload, $4 traceparent) written to the outbox in the same statement.
 */
export const DELETE_POST: Statement = {
  name: 'posts.delete',
  text: `WITH deleted AS (DELETE FROM posts WHERE id = $1 AND author_id = $2 RETURNING id),
         event AS (
           INSERT INTO outbox (topic, payload, traceparent)
           SELECT 'post.deleted', $3::jsonb, $4 FROM deleted RETURNING id)
         SELECT deleted.id, (SELECT id::text FROM event) AS "outboxId" FROM deleted`,
};

/** Events in the outbox written more than $1 ms ago (left by a crash, or given up on), oldest first. */
export const OUTBOX_OLDER_THAN: Statement = {
  name: 'posts.outbox_older_than',
  text: `SELECT id::text AS id, topic, payload, traceparent FROM outbox
         WHERE created_at <= now() - $1::float8 * interval '1 millisecond' ORDER BY id`,
};

/** Event $1 was published: out of the outbox. */
export const OUTBOX_DONE: Statement = {
  name: 'posts.outbox_done',
  text: 'DELETE FROM outbox WHERE id = $1::bigint',
};

/** The authors of the newest 1,000 posts, each once, whoever posted last first; $1 of them. */
export const RECENT_AUTHORS: Statement = {
  name: 'posts.recent_authors',
  text: `SELECT author_id AS "userId", author_username AS username, max(created_at) AS "lastPostAt"
         FROM (SELECT author_id, author_username, created_at FROM posts ${NEWEST_FIRST} LIMIT 1000) AS recent
         GROUP BY author_id, author_username ORDER BY "lastPostAt" DESC LIMIT $1`,
};

/** The post author $1 made with idempotency key $2. */
export const EARLIER_POST: Statement = {
  name: 'posts.earlier',
  text: `SELECT ${COLUMNS} FROM posts WHERE author_id = $1 AND idempotency_key = $2`,
};

/**
 * Posts matching every word of $1 (search.ts says how), best first, $2 of them; `after`: below
 * the cursor's (rank $3, time $4, id $5). PGlite's driver cannot return every PostgreSQL type:
 * rank is cast to float8 (a JS number).
 */
const MATCHES = `SELECT ${COLUMNS}, ts_rank(search_vector, q)::float8 AS rank
                 FROM posts, plainto_tsquery('english', $1) AS q
                 WHERE search_vector @@ q`;
const BEST_FIRST = 'ORDER BY rank DESC, "createdAt" DESC, id DESC LIMIT $2';
export const SEARCH = {
  first: { name: 'posts.search', text: `SELECT * FROM (${MATCHES}) AS m ${BEST_FIRST}` },
  after: {
    name: 'posts.search_after',
    text: `SELECT * FROM (${MATCHES}) AS m
           WHERE rank < $3::float8 OR (rank = $3::float8 AND ("createdAt", id) < ($4::timestamptz, $5))
           ${BEST_FIRST}`,
  },
} satisfies Record<string, Statement>;
