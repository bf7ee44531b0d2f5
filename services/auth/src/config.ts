/**
 * The auth service's own settings, read from the environment once (main.ts):
 *
 *   AUTH_BCRYPT_COST         bcrypt cost factor (log2 of rounds), 4–15, default 10 (≈ 60 ms a hash
 *                            on one core here); tests use 4
 *   AUTH_SESSION_TTL_HOURS   how long a session lasts after log-in, default 168 (7 days);
 *                            fractions allowed (0.5 = 30 min)
 *   AUTH_MAX_FAILED_LOGINS   failed log-ins for one username from one client address within the
 *                            window before further attempts from there are refused
 *                            (RESOURCE_EXHAUSTED), default 5
 *   AUTH_MAX_FAILED_LOGINS_PER_ADDRESS   failed log-ins from one client address (an IPv6 /64),
 *                            whatever the username, within the window, default 20 (0: no limit)
 *   AUTH_MAX_FAILED_LOGINS_PER_USERNAME  failed log-ins for one username from all addresses within
 *                            the window: a loose backstop, default 100 (0: no limit)
 *   AUTH_THROTTLE_WINDOW_S   the log-in throttles' window in seconds, default 300
 *   AUTH_MAX_SIGNUPS_PER_ADDRESS  sign-up attempts from one client address within the sign-up
 *                            window, default 10 (0: no limit)
 *   AUTH_SIGNUP_WINDOW_S     that window in seconds, default 3600
 *   (The client address is the contract's clientAddress, which the web app sends: throttle.ts.)
 *   + the database: AUTH_DATABASE_URL, DATABASE_URL or DATA_DIR (see @chirp/db)
 *
 * Durations are kept in milliseconds inside, so a test can ask for a 1 s session.
 */
import { databaseConfigFromEnv, type DatabaseConfig } from '@chirp/db';

export interface AuthConfig {
  bcryptCost: number;
  sessionTtlMs: number;
  maxFailedLogins: number;
  maxFailedLoginsPerAddress: number;
  maxFailedLoginsPerUsername: number;
  throttleWindowMs: number;
  maxSignUpsPerAddress: number;
  signUpWindowMs: number;
  database: DatabaseConfig;
}

export function authConfigFromEnv(env: Record<string, string | undefined>): AuthConfig {
  return {
    bcryptCost: integer(env, 'AUTH_BCRYPT_COST', 10, 4, 15),
    sessionTtlMs: positive(env, 'AUTH_SESSION_TTL_HOURS', 168) * 3_600_000,
    maxFailedLogins: integer(env, 'AUTH_MAX_FAILED_LOGINS', 5, 1, 1_000_000),
    maxFailedLoginsPerAddress: integer(env, 'AUTH_MAX_FAILED_LOGINS_PER_ADDRESS', 20, 0, 1_000_000),
    maxFailedLoginsPerUsername: integer(env, 'AUTH_MAX_FAILED_LOGINS_PER_USERNAME', 100, 0, 1_000_000),
    throttleWindowMs: positive(env, 'AUTH_THROTTLE_WINDOW_S', 300) * 1000,
    maxSignUpsPerAddress: integer(env, 'AUTH_MAX_SIGNUPS_PER_ADDRESS', 10, 0, 1_000_000),
    signUpWindowMs: positive(env, 'AUTH_SIGNUP_WINDOW_S', 3600) * 1000,
    database: databaseConfigFromEnv('auth', env),
  };
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  }
  return value;
}

function positive(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw} is not valid: use a number above 0`);
  return value;
}
