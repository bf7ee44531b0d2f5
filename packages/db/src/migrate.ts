/**
 * Applies a service's committed migrations (`prisma/migrations/<name>/migration.sql`, the
 * files `prisma migrate diff` writes) without Prisma's native schema engine, which cannot be
 * downloaded here (see ../shared/ENVIRONMENT.md; `migrate deploy` through the pg adapter
 * fails on an upstream bug). The same code runs on PGlite and on PostgreSQL.
 *
 * - Migrations run in name order, each in its own transaction together with its row in
 *   `_chirp_migrations`: a crash leaves a migration either fully applied or not at all.
 * - A session-level advisory lock serialises replicas starting at once: the second waits,
 *   then finds nothing left to do.
 * - An applied migration whose file changed since is refused (checksum), never re-run.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The little of a database connection the migrator needs (pg.Client and PGlite both fit). */
export interface SqlSession {
  /** Run a script of one or more statements, no parameters. */
  exec(sql: string): Promise<void>;
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

const LOCK_ID = 72707369; // any constant; the same for every Chirp service and version

export async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`no migrations folder at ${dir}`);
    throw err;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Apply what is pending; returns the names applied now (empty when up to date). */
export async function migrate(session: SqlSession, migrations: Migration[]): Promise<string[]> {
  await session.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
  try {
    await session.exec(`CREATE TABLE IF NOT EXISTS "_chirp_migrations" (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await session.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM "_chirp_migrations"',
    );
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    for (const [name] of applied) {
      if (!migrations.some((m) => m.name === name)) {
        throw new Error(
          `the database has migration ${name}, which this code does not know: is it older than the data?`,
        );
      }
    }
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.name);
      if (checksum === migration.checksum) continue;
      if (checksum !== undefined) {
        throw new Error(`migration ${migration.name} was changed after it was applied; add a new migration instead`);
      }
      await session.exec('BEGIN');
      try {
        await session.exec(migration.sql);
        await session.query('INSERT INTO "_chirp_migrations" (name, checksum) VALUES ($1, $2)', [
          migration.name,
          migration.checksum,
        ]);
        await session.exec('COMMIT');
      } catch (err) {
        await session.exec('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
      done.push(migration.name);
    }
    return done;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
  }
}
