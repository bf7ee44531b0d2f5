/**
 * Databases for tests: every service suite runs on both kinds. PGlite in memory; on
 * PostgreSQL (TEST_DATABASE_URL, default the local server) a fresh database per test
 * file, created on open and dropped by `drop()`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withDatabase, type DatabaseConfig, type DatabaseKind } from './open.js';

export const DATABASE_KINDS: DatabaseKind[] = ['pglite', 'postgres'];

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  config: DatabaseConfig;
  drop(): Promise<void>;
}

export function testDatabase(kind: DatabaseKind, service: string): TestDatabase {
  if (kind === 'pglite') return { config: { service }, drop: async () => {} };
  const name = `chirp_test_${service}_${randomBytes(4).toString('hex')}`;
  return {
    config: { service, url: withDatabase(TEST_DATABASE_URL, name), poolSize: 4 },
    drop: async () => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
