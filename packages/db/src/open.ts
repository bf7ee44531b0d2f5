/**
 * Where a service keeps its data, and opening it for Prisma.
 *
 *   <SERVICE>_DATABASE_URL   postgres://… used as it is, e.g. POSTS_DATABASE_URL
 *   DATABASE_URL             postgres://… of a server: each service uses its own database
 *                            on it, named chirp_<service> (created if missing)
 *   DATA_DIR                 otherwise PGlite (PostgreSQL in-process) in DATA_DIR/<service>,
 *                            default ./.data/<service>
 *
 * Opening applies pending migrations (migrate.ts) before Prisma sees the database, and
 * returns the driver adapter to build the service's own generated PrismaClient with, and the
 * same database for prepared statements (sql.ts), whose `traced` makes a Prisma operation a span.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { migrate, readMigrations, type SqlSession } from './migrate.js';
import { pgSql, pgliteSql, type Sql } from './sql.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseConfig {
  service: string;
  /** postgres:// URL; when absent, PGlite. */
  url?: string;
  /** PGlite's data folder; absent = in memory (tests). */
  dataDir?: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

export function databaseConfigFromEnv(service: string, env: Record<string, string | undefined>): DatabaseConfig {
  const own = env[`${service.toUpperCase()}_DATABASE_URL`];
  if (own) return { service, url: checkUrl(own, `${service.toUpperCase()}_DATABASE_URL`) };
  if (env.DATABASE_URL) {
    const url = new URL(checkUrl(env.DATABASE_URL, 'DATABASE_URL'));
    url.pathname = `/chirp_${service}`;
    return { service, url: url.toString() };
  }
  return { service, dataDir: path.resolve(env.DATA_DIR ?? '.data', service) };
}

function checkUrl(value: string, variable: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) throw new Error(`${variable} must be a postgres:// URL, got "${value}"`);
  return value;
}

/** A URL or folder fit for a log line: no password. */
export function describeDatabase(config: DatabaseConfig): string {
  if (!config.url) return config.dataDir ? `pglite ${config.dataDir}` : 'pglite in memory';
  const url = new URL(config.url);
  if (url.password) url.password = '***';
  return url.toString();
}

export interface Database {
  kind: DatabaseKind;
  /** Where the data is, without secrets. */
  where: string;
  /** Migrations applied by this open (empty when the schema was up to date). */
  applied: string[];
  /** `new PrismaClient({ adapter })` with the service's own generated client. */
  adapter: PrismaPg | PrismaPGlite;
  /** The same database without Prisma, for the hot paths' prepared statements (sql.ts). */
  sql: Sql;
  /** Release the database; call after the PrismaClient's $disconnect(). */
  close(): Promise<void>;
}

export async function openDatabase(config: DatabaseConfig, migrationsDir: string): Promise<Database> {
  const migrations = await readMigrations(migrationsDir);
  const where = describeDatabase(config);
  if (config.url) {
    const url = config.url;
    const client = await connectCreatingDatabase(url);
    let applied: string[];
    try {
      applied = await migrate(pgSession(client), migrations);
    } finally {
      await client.end();
    }
    // One pool for Prisma and the prepared statements alike.
    const pool = new pg.Pool({ connectionString: url, max: config.poolSize ?? 10 });
    // An idle connection the server ends (a restart, an administrator, a database dropped while
    // the pool closes) is an 'error' on the pool, which would crash the process unheard: the pool
    // has already dropped that client, and the next query opens a new connection.
    pool.on('error', () => {});
    const namespace = databaseName(url);
    return {
      kind: 'postgres',
      where,
      applied,
      adapter: new PrismaPg(pool),
      sql: pgSql(pool, namespace),
      close: () => pool.end(),
    };
  }

  const release = config.dataDir ? await lockDataDir(config.dataDir) : async () => {};
  try {
    if (config.dataDir) await mkdir(path.dirname(config.dataDir), { recursive: true });
    const pglite = config.dataDir ? await PGlite.create(config.dataDir) : await PGlite.create();
    const applied = await migrate(pgliteSession(pglite), migrations).catch(async (err: unknown) => {
      await pglite.close();
      throw err;
    });
    return {
      kind: 'pglite',
      where,
      applied,
      adapter: new PrismaPGlite(pglite),
      sql: pgliteSql(pglite, `pglite ${config.service}`),
      close: async () => {
        if (!pglite.closed) await pglite.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

function pgSession(client: pg.Client): SqlSession {
  return {
    exec: async (sql) => void (await client.query(sql)),
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
  };
}

function pgliteSession(db: PGlite): SqlSession {
  return {
    exec: async (sql) => void (await db.exec(sql)),
    query: async <Row>(sql: string, params?: unknown[]) => (await db.query<Row>(sql, params)).rows,
  };
}

/** Connect; if the database does not exist yet, create it (from the server's `postgres` database). */
async function connectCreatingDatabase(url: string): Promise<pg.Client> {
  try {
    return await connect(url);
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw explainConnectError(err, url);
  }
  const name = databaseName(url);
  const admin = await connect(withDatabase(url, 'postgres'));
  try {
    await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // 42P04 or 23505: a replica created it meanwhile
    if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await admin.end();
  }
  return connect(url);
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return client;
}

function explainConnectError(err: unknown, url: string): Error {
  const code = (err as { code?: string }).code;
  const where = describeDatabase({ service: '', url });
  if (code === 'ECONNREFUSED') {
    return new Error(`PostgreSQL is not reachable at ${where}: is it running? (or unset the URL to use PGlite)`, {
      cause: err,
    });
  }
  return new Error(`cannot connect to ${where}: ${(err as Error).message}`, { cause: err });
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * PGlite is one process's database: a second process opening the same folder would
 * corrupt it. A lock file next to the folder names the owner; a stale one (its process
 * gone, e.g. after kill -9) is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(path.dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(lockPath, 'wx');
      await file.writeFile(String(process.pid));
      await file.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(lockPath, 'utf8').catch(() => ''));
      if (owner && isAlive(owner)) {
        throw new Error(`the data folder ${dataDir} is in use by process ${owner}: is this service already running?`);
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`cannot lock the data folder ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
