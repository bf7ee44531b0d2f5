import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseConfigFromEnv, openDatabase, type Database, type DatabaseConfig } from './open.js';
import { DATABASE_KINDS, testDatabase, type TestDatabase } from './testing.js';

let dir: string;
let migrations: string;
const opened: Database[] = [];

async function addMigration(name: string, sql: string): Promise<void> {
  await mkdir(path.join(migrations, name), { recursive: true });
  await writeFile(path.join(migrations, name, 'migration.sql'), sql);
}

async function openAndTrack(config: DatabaseConfig): Promise<Database> {
  const db = await openDatabase(config, migrations);
  opened.push(db);
  return db;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chirp-db-'));
  migrations = path.join(dir, 'migrations');
  await addMigration('0001_init', 'CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL);');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('database config from env', () => {
  it('defaults to PGlite in ./.data/<service>', () => {
    expect(databaseConfigFromEnv('posts', {})).toEqual({ service: 'posts', dataDir: path.resolve('.data', 'posts') });
  });

  it('gives each service its own database on the DATABASE_URL server', () => {
    const config = databaseConfigFromEnv('posts', { DATABASE_URL: 'postgres://u:p@db:5432/whatever' });
    expect(config.url).toBe('postgres://u:p@db:5432/chirp_posts');
  });

  it('prefers <SERVICE>_DATABASE_URL as it is', () => {
    const env = { DATABASE_URL: 'postgres://db/x', POSTS_DATABASE_URL: 'postgres://other/mine' };
    expect(databaseConfigFromEnv('posts', env).url).toBe('postgres://other/mine');
  });

  it('refuses a URL that is not postgres://', () => {
    expect(() => databaseConfigFromEnv('posts', { DATABASE_URL: 'mysql://db/x' })).toThrow(
      /DATABASE_URL must be a postgres:\/\/ URL/,
    );
  });
});

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  let db: TestDatabase;
  beforeEach(() => {
    db = testDatabase(kind, 'dbtest');
    if (kind === 'pglite') db.config.dataDir = path.join(dir, 'data');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
    await db.drop();
  });

  it('applies pending migrations once, in order, and keeps the data across opens', async () => {
    await addMigration('0002_title', 'ALTER TABLE note ADD COLUMN title text;');
    const first = await openAndTrack(db.config);
    expect(first.applied).toEqual(['0001_init', '0002_title']);
    await rows(first, db.config, "INSERT INTO note (body, title) VALUES ('kept', 't')");
    await first.close();
    opened.length = 0;

    const second = await openAndTrack(db.config);
    expect(second.applied).toEqual([]);
    expect(await rows(second, db.config, 'SELECT body, title FROM note')).toEqual([{ body: 'kept', title: 't' }]);
  });

  it('rolls back a failing migration whole and says which one failed', async () => {
    await addMigration('0002_broken', 'CREATE TABLE half (id int); SELECT no_such_function();');
    await expect(openDatabase(db.config, migrations)).rejects.toThrow(/migration 0002_broken failed/);
    await rm(path.join(migrations, '0002_broken'), { recursive: true });
    const reopened = await openAndTrack(db.config);
    expect(reopened.applied).toEqual([]); // 0001 stood; 0002 left nothing behind
    const half = "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'half'";
    expect(await rows(reopened, db.config, half)).toEqual([{ n: 0 }]);
  });

  it('refuses a migration edited after it was applied', async () => {
    await (await openAndTrack(db.config)).close();
    opened.length = 0;
    await addMigration('0001_init', 'CREATE TABLE note (id bigserial PRIMARY KEY);');
    await expect(openDatabase(db.config, migrations)).rejects.toThrow(/0001_init was changed after it was applied/);
  });
});

describe('on PostgreSQL', () => {
  const db = testDatabase('postgres', 'dbrace');
  afterAll(() => db.drop());

  it('creates the database, and replicas starting at once apply each migration once', async () => {
    const all = await Promise.all([1, 2, 3].map(() => openAndTrack(db.config)));
    expect(all.flatMap((d) => d.applied)).toEqual(['0001_init']);
  });
});

describe('on PGlite', () => {
  it('refuses a second process (or open) on the same data folder while the first has it', async () => {
    const config = { service: 'locked', dataDir: path.join(dir, 'data') };
    const first = await openAndTrack(config);
    await expect(openDatabase(config, migrations)).rejects.toThrow(/is in use by process \d+/);
    await first.close();
    opened.length = 0;
    await (await openAndTrack(config)).close(); // released on close
  });
});

/** Run SQL beside Prisma, straight on the database the test opened. */
async function rows(db: Database, config: DatabaseConfig, sql: string): Promise<unknown[]> {
  if (db.kind === 'postgres') {
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  // PGlite allows one opener: go through the adapter's own connection.
  const adapter = await db.adapter.connect();
  const result = await adapter.queryRaw({ sql, args: [], argTypes: [] });
  return result.rows.map((r) => Object.fromEntries(result.columnNames.map((c, i) => [c, r[i]])));
}
