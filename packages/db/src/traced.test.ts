/** How query spans are named: `INSERT posts`, what a trace view and the tests look for. */
import { describe, expect, it } from 'vitest';
import { summaryOf } from './traced.js';

describe('a query span’s name', () => {
  it.each([
    ['SELECT id FROM posts WHERE author_id = $1', 'SELECT', 'posts'],
    ['INSERT INTO "follows" (a, b) VALUES ($1, $2)', 'INSERT', 'follows'],
    ['UPDATE users SET bio = $2 WHERE id = $1', 'UPDATE', 'users'],
    ['SELECT EXTRACT(EPOCH FROM created_at) AS t FROM posts WHERE id IN (SELECT id FROM hidden)', 'SELECT', 'posts'],
    [
      'SELECT p.* FROM unnest($1::text[]) AS a(author_id) CROSS JOIN LATERAL (SELECT id FROM posts WHERE author_id = a.author_id) AS p',
      'SELECT',
      'posts',
    ],
    ['SELECT 1', 'SELECT', undefined],
  ])('names %s by its operation and first table', (sql, operation, table) => {
    expect(summaryOf(sql)).toEqual({ operation, table });
  });

  it('names a WITH statement by the work in its first expression, not by the CTE', () => {
    const insert = `WITH inserted AS (
        INSERT INTO posts (id, text) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id),
      event AS (INSERT INTO outbox (topic) SELECT 'post.created' FROM inserted RETURNING id)
      SELECT inserted.*, (SELECT id FROM event) AS "outboxId" FROM inserted`;
    expect(summaryOf(insert)).toEqual({ operation: 'INSERT', table: 'posts' });
    const remove = `WITH deleted AS (DELETE FROM posts WHERE id = $1 RETURNING id),
      event AS (INSERT INTO outbox (topic) SELECT 'post.deleted' FROM deleted RETURNING id)
      SELECT deleted.id FROM deleted`;
    expect(summaryOf(remove)).toEqual({ operation: 'DELETE', table: 'posts' });
  });
});
