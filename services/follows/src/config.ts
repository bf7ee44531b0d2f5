/**
 * The follows service's own settings, read from the environment once (main.ts), next to
 * the runtime's (transport, admin port, log level: @chirp/service-runtime).
 *
 *   FOLLOWS_USER_CACHE_SIZE  how many user ids known to exist are remembered, so a follow
 *                            need not ask auth again; 0 turns the cache off. Default 100000.
 *                            (Users are never deleted, so a remembered answer stays true.)
 *   + the database variables of @chirp/db: FOLLOWS_DATABASE_URL, DATABASE_URL, DATA_DIR
 *     (default: PGlite in ./.data/follows)
 */
import { databaseConfigFromEnv, type DatabaseConfig } from '@chirp/db';

export interface FollowsConfig {
  database: DatabaseConfig;
  /** User ids known to exist, remembered in-process; 0 = ask auth on every follow. */
  userCacheSize: number;
}

export const USER_CACHE_SIZE_DEFAULT = 100_000;

export function followsConfigFromEnv(env: Record<string, string | undefined>): FollowsConfig {
  return {
    database: databaseConfigFromEnv('follows', env),
    userCacheSize: wholeNumber(env, 'FOLLOWS_USER_CACHE_SIZE', USER_CACHE_SIZE_DEFAULT),
  };
}

function wholeNumber(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${variable} must be a whole number of 0 or more, got "${raw}"`);
  }
  return value;
}
