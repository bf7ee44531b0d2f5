/**
 * One fresh PostgreSQL database per service for each stack the benchmark starts, named
 * chirp_bench_<stack id>_<service>: created empty (the service applies its migrations when it
 * opens it), dropped when the stack stops, so every run starts from the same empty state
 * and two runs on one server (a test and a person) never share data.
 */
import pg from 'pg';

/** The server's maintenance database, from which others are created and dropped. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseName(stackId: string, service: string): string {
  return `chirp_bench_${stackId}_${service}`;
}

/** `adminUrl` pointed at another database on the same server. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabases(adminUrl: string, names: string[]): Promise<void> {
  await withAdmin(adminUrl, async (admin) => {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${name}"`);
    }
  });
}

export async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  await withAdmin(adminUrl, async (admin) => {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** One line per session open on these databases, with what it waits on: for a stack that hangs while starting. */
export async function describeSessions(adminUrl: string, names: string[]): Promise<string> {
  let lines: string[] = [];
  await withAdmin(adminUrl, async (admin) => {
    const { rows } = await admin.query<Record<string, string | null>>(
      `SELECT pid, datname, state, wait_event_type, wait_event, regexp_replace(left(query, 120), '\\s+', ' ', 'g') AS query
         FROM pg_stat_activity WHERE datname = ANY($1) ORDER BY datname, pid`,
      [names],
    );
    lines = rows.map(
      (r) =>
        `  ${r.datname} pid ${r.pid} ${r.state} waiting on ${r.wait_event_type ?? '-'}/${r.wait_event ?? '-'}: ${r.query}`,
    );
  });
  return lines.length === 0 ? '  (none)' : lines.join('\n');
}

async function withAdmin(adminUrl: string, work: (admin: pg.Client) => Promise<void>): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    await admin.end().catch(() => {});
    throw new Error(`PostgreSQL is not reachable at ${adminUrl}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}
