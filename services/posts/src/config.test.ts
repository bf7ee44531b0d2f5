import { describe, expect, it } from 'vitest';
import { HOME_MAX_FOLLOWEES_DEFAULT, postsConfigFromEnv } from './config.js';

describe('posts config from env', () => {
  it('defaults to PGlite in ./.data/posts and 5000 followees per home timeline', () => {
    const config = postsConfigFromEnv({});
    expect(config.homeMaxFollowees).toBe(HOME_MAX_FOLLOWEES_DEFAULT);
    expect(config.database.dataDir).toMatch(/\.data[/\\]posts$/);
  });

  it('reads POSTS_HOME_MAX_FOLLOWEES and refuses a value that is not a whole number', () => {
    expect(postsConfigFromEnv({ POSTS_HOME_MAX_FOLLOWEES: '200' }).homeMaxFollowees).toBe(200);
    for (const bad of ['0', '-3', '2.5', 'lots']) {
      expect(() => postsConfigFromEnv({ POSTS_HOME_MAX_FOLLOWEES: bad })).toThrow(
        `POSTS_HOME_MAX_FOLLOWEES must be a whole number of at least 1, got "${bad}"`,
      );
    }
  });
});
