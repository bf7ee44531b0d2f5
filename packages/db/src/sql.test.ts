import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './open.js';
import { pgliteSql, type Statement } from './sql.js';
import { DATABASE_KINDS, testDatabase, type TestDatabase } from './testing.js';

const INSERT: Statement = {
  name: 'test.insert',
  text: 'INSERT INTO note (body, tags, at) VALUES ($1, $2, $3) RETURNING id, body, tags, at',
};
const BY_TAG: Statement = { name: 'test.by_tag', text: 'SELECT body FROM note WHERE $1 = ANY(tags) ORDER BY id' };
const AS_INT: Statement = { name: 'test.as_int', text: 'SELECT $1::int AS n' };

describe.each(DATABASE_KINDS)('prepared statements on %s', (kind) => {
  let dir: string;
  let test: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chirp-sql-'));
    await mkdir(path.join(dir, 'migrations', '0001_init'), { recursive: true });
    await writeFile(
      path.join(dir, 'migrations', '0001_init', 'migration.sql'),
      'CREATE TABLE note (id serial PRIMARY KEY, body text, tags text[] NOT NULL, at timestamptz NOT NULL);',
    );
    test = testDatabase(kind, 'sqltest');
    db = await openDatabase(test.config, path.join(dir, 'migrations'));
  });
  afterAll(async () => {
    await db?.close();
    await test?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes values as parameters and reads rows back typed, statement after statement', async () => {
    const at = new Date('2026-12-06T10:00:00.123Z');
    const [row] = await db.sql.query(INSERT, ["it's; DROP TABLE note", ['a,b', 'say "hi"', 'ü'], at.toISOString()]);
    expect(row).toEqual({ id: 1, body: "it's; DROP TABLE note", tags: ['a,b', 'say "hi"', 'ü'], at });
    await db.sql.query(INSERT, [null, ['a,b'], at.toISOString()]);
    expect(await db.sql.query(BY_TAG, ['a,b'])).toEqual([{ body: "it's; DROP TABLE note" }, { body: null }]);
    expect(await db.sql.query(BY_TAG, ['none'])).toEqual([]);
  });

  it("rejects a value the statement cannot take with the database's error, and goes on serving", async () => {
    await expect(db.sql.query(AS_INT, ['x'])).rejects.toMatchObject({ code: '22P02' });
    expect(await db.sql.query(AS_INT, ['7'])).toEqual([{ n: 7 }]);
    expect(await db.sql.query(BY_TAG, ['ü'])).toEqual([{ body: "it's; DROP TABLE note" }]);
  });

  it('runs many at once, each with its own values', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => db.sql.query(AS_INT, [String(i)])));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => [{ n: i }]));
  });
});

describe('prepared statements on PGlite, beside a transaction', () => {
  it('wait for an open transaction to end instead of running inside it', async () => {
    const pglite = await PGlite.create();
    try {
      await pglite.exec('CREATE TABLE t (n int)');
      const sql = pgliteSql(pglite, 'test');
      let statement: Promise<unknown> = Promise.resolve();
      await pglite.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)');
        statement = sql.query({ name: 'test.insert_two', text: 'INSERT INTO t VALUES ($1)' }, [2]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await tx.rollback();
      });
      await statement;
      // Run inside the transaction, the 2 would have been rolled back with the 1.
      expect((await pglite.query('SELECT n FROM t')).rows).toEqual([{ n: 2 }]);
    } finally {
      await pglite.close();
    }
  });
});
