/** The auth service's settings from the environment: documented defaults, and bad values named. */
import { describe, expect, it } from 'vitest';
import { authConfigFromEnv } from './config.js';

describe('auth config from env', () => {
  it('has the documented defaults', () => {
    expect(authConfigFromEnv({ DATA_DIR: '/tmp/chirp' })).toEqual({
      bcryptCost: 10,
      sessionTtlMs: 168 * 3_600_000,
      maxFailedLogins: 5,
      maxFailedLoginsPerAddress: 20,
      maxFailedLoginsPerUsername: 100,
      throttleWindowMs: 300_000,
      maxSignUpsPerAddress: 10,
      signUpWindowMs: 3_600_000,
      database: { service: 'auth', dataDir: '/tmp/chirp/auth' },
    });
  });

  it('reads every setting', () => {
    const config = authConfigFromEnv({
      AUTH_BCRYPT_COST: '4',
      AUTH_SESSION_TTL_HOURS: '0.5',
      AUTH_MAX_FAILED_LOGINS: '3',
      AUTH_THROTTLE_WINDOW_S: '60',
      AUTH_MAX_FAILED_LOGINS_PER_ADDRESS: '0',
      AUTH_MAX_FAILED_LOGINS_PER_USERNAME: '50',
      AUTH_MAX_SIGNUPS_PER_ADDRESS: '2',
      AUTH_SIGNUP_WINDOW_S: '600',
      DATABASE_URL: 'postgres://db:5432/x',
    });
    expect(config).toMatchObject({
      bcryptCost: 4,
      sessionTtlMs: 1_800_000,
      maxFailedLogins: 3,
      throttleWindowMs: 60_000,
      maxFailedLoginsPerAddress: 0,
      maxFailedLoginsPerUsername: 50,
      maxSignUpsPerAddress: 2,
      signUpWindowMs: 600_000,
    });
    expect(config.database.url).toBe('postgres://db:5432/chirp_auth');
  });

  it.each([
    ['AUTH_BCRYPT_COST', '3', /AUTH_BCRYPT_COST=3 is not valid: use a whole number from 4 to 15/],
    ['AUTH_BCRYPT_COST', 'ten', /AUTH_BCRYPT_COST=ten/],
    ['AUTH_SESSION_TTL_HOURS', '0', /AUTH_SESSION_TTL_HOURS=0 is not valid: use a number above 0/],
    ['AUTH_MAX_FAILED_LOGINS', '2.5', /AUTH_MAX_FAILED_LOGINS=2.5/],
    ['AUTH_THROTTLE_WINDOW_S', '-1', /AUTH_THROTTLE_WINDOW_S=-1/],
    ['AUTH_MAX_FAILED_LOGINS_PER_ADDRESS', '-1', /AUTH_MAX_FAILED_LOGINS_PER_ADDRESS=-1 .* from 0 to/],
    ['AUTH_MAX_SIGNUPS_PER_ADDRESS', 'many', /AUTH_MAX_SIGNUPS_PER_ADDRESS=many/],
    ['AUTH_SIGNUP_WINDOW_S', '0', /AUTH_SIGNUP_WINDOW_S=0/],
  ])('refuses %s=%s, naming the variable', (name, value, message) => {
    expect(() => authConfigFromEnv({ [name]: value })).toThrow(message);
  });
});
