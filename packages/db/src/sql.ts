/**
 * SQL straight on the driver, for the queries on every request's path (a session check, a
 * timeline, a follow list, a post's insert): on PostgreSQL each statement is a named prepared
 * statement, parsed once per pooled connection; on PGlite a parameterised query. Prisma stays for
 * the schema, the migrations and everything off the hot path. Why: measured under the social mix,
 * one such SELECT through Prisma 6's client engine (its query interpreter and WebAssembly plan)
 * cost ~250–300 µs of a service's CPU, most of what the service spent on the request.
 *
 * Every statement is a span like Prisma's (traced.ts), and values are always parameters, never
 * text: declare each statement once, as a constant, with its `$1…` placeholders.
 */
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { traceStatement } from './traced.js';

/** One statement: its name (the prepared statement's, unique per service) and its text. */
export interface Statement {
  name: string;
  text: string;
}

export interface Sql {
  /** The rows `statement` returns for `values` (timestamptz as Date, text[] as string[]). */
  query<Row>(statement: Statement, values: unknown[]): Promise<Row[]>;
}

export function pgSql(pool: pg.Pool, namespace: string): Sql {
  return {
    query: <Row>(statement: Statement, values: unknown[]) =>
      traceStatement(statement.text, namespace, async () => {
        const result = await pool.query({ name: statement.name, text: statement.text, values });
        return result.rows as Row[];
      }),
  };
}

export function pgliteSql(db: PGlite, namespace: string): Sql {
  return {
    query: <Row>(statement: Statement, values: unknown[]) =>
      traceStatement(statement.text, namespace, async () => (await db.query<Row>(statement.text, values)).rows),
  };
}
