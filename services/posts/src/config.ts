/**
 * The posts service's settings, read from the environment once (main.ts):
 *
 *   POSTS_HOME_MAX_FOLLOWEES  a home timeline reads the posts of at most this many of the
 *                             people a user follows (the most recently followed); default 5000
 *   + the database: POSTS_DATABASE_URL, DATABASE_URL or DATA_DIR (see @chirp/db), default
 *     PGlite in ./.data/posts
 *   + the runtime's and transport's variables (LOG_LEVEL, TRANSPORT, POSTS_ADDR, …)
 */
import { databaseConfigFromEnv, type DatabaseConfig } from '@chirp/db';

export interface PostsConfig {
  database: DatabaseConfig;
  homeMaxFollowees: number;
}

export const HOME_MAX_FOLLOWEES_DEFAULT = 5000;

export function postsConfigFromEnv(env: Record<string, string | undefined>): PostsConfig {
  return {
    database: databaseConfigFromEnv('posts', env),
    homeMaxFollowees: positiveInteger(env, 'POSTS_HOME_MAX_FOLLOWEES', HOME_MAX_FOLLOWEES_DEFAULT),
  };
}

function positiveInteger(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${variable} must be a whole number of at least 1, got "${raw}"`);
  }
  return value;
}
