/**
 * The JSON API (src/api/) against the real system: the production build served by its
 * server (dist/server.js), the whole back end on HTTP and PostgreSQL. Every route, its JSON shapes and
 * status codes, and every failure as `{ error: { code, message } }`: bad input, no session,
 * a name nobody has, a body too large, a service down (503) or silent (504).
 * The security rules (CSRF, sessions, throttling, timing) are security.test.ts.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy, freePort, sleep } from '@chirp/transport/testing';
import { apiClient, sessionCookieOf, type Api } from './testing/api-client.js';
import { startWebApp } from './testing/web-app.js';
import { startWebStack, type WebStack } from './testing/web-stack.js';

const PASSWORD = 'correct horse battery';
const suffix = Math.random().toString(36).slice(2, 8);
const names = { alice: `alice_${suffix}`, bob: `bob_${suffix}`, carol: `carol_${suffix}` };

let system: WebStack;
let api: Api;
/** Bearer tokens from sign-up. */
const tokens: Record<string, string> = {};

beforeAll(async () => {
  system = await startWebStack('http');
  api = apiClient(system.web.url);
}, 300_000);

afterAll(() => system?.stop(), 60_000);

const errorOf = (code: string, message: string | RegExp = /^[A-Z].*[.!?:a-z]$/) => ({
  error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) },
});

describe('accounts', () => {
  it('signs up: 201 with the user, a token and its expiry, and the session cookie', async () => {
    for (const name of Object.values(names)) {
      const reply = await api('POST', '/api/signup', { body: { username: name, password: PASSWORD } });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        user: { id: expect.any(String), username: name, createdAt: expect.any(String) },
        token: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/),
        expiresAt: expect.any(String),
      });
      expect(Date.parse(reply.body.expiresAt)).toBeGreaterThan(Date.now());
      expect(sessionCookieOf(reply)).toBe(`chirp_session=${reply.body.token}`);
      tokens[name] = reply.body.token;
    }
  });

  it('knows the caller by the cookie and by a Bearer token', async () => {
    const byCookie = await api('GET', '/api/me', { cookie: `chirp_session=${tokens[names.alice]}` });
    const byBearer = await api('GET', '/api/me', { token: tokens[names.alice] });
    expect(byCookie.status).toBe(200);
    expect(byCookie.body.user.username).toBe(names.alice);
    expect(byBearer.body).toEqual(byCookie.body);
    expect(byBearer.headers['cache-control']).toMatch(/no-store/);
  });

  it('refuses a taken name with 409, and bad names and passwords with 400 in words', async () => {
    const taken = await api('POST', '/api/signup', {
      body: { username: names.alice.toUpperCase(), password: PASSWORD },
    });
    expect([taken.status, taken.body]).toEqual([
      409,
      errorOf('ALREADY_EXISTS', `The username ${names.alice.toUpperCase()} is taken. Please choose another.`),
    ]);
    const badName = await api('POST', '/api/signup', { body: { username: 'a-b', password: PASSWORD } });
    expect([badName.status, badName.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'A username is 3 to 20 letters, digits or underscores.'),
    ]);
    const short = await api('POST', '/api/signup', { body: { username: `dan_${suffix}`, password: 'short' } });
    expect([short.status, short.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'Choose a password of at least 8 characters.'),
    ]);
    const notText = await api('POST', '/api/signup', { body: { username: 42, password: PASSWORD } });
    expect([notText.status, notText.body]).toEqual([400, errorOf('INVALID_ARGUMENT', 'username must be a string.')]);
    expect((await api('GET', `/api/users/dan_${suffix}`)).status).toBe(404);
  });

  it('gives the same account for a retried sign-up with the same idempotency key', async () => {
    const body = { username: `erin_${suffix}`, password: PASSWORD, idempotencyKey: `key-${suffix}-erin` };
    const first = await api('POST', '/api/signup', { body });
    const retry = await api('POST', '/api/signup', { body });
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect(retry.body.user).toEqual(first.body.user);
  });

  it('logs in: 200 with a new token; a wrong password is 401 in words', async () => {
    const reply = await api('POST', '/api/login', { body: { username: names.bob.toUpperCase(), password: PASSWORD } });
    expect(reply.status).toBe(200);
    expect(reply.body.user.username).toBe(names.bob);
    expect(reply.body.token).not.toBe(tokens[names.bob]);
    expect(sessionCookieOf(reply)).toBe(`chirp_session=${reply.body.token}`);

    const wrong = await api('POST', '/api/login', { body: { username: names.bob, password: 'not the password' } });
    expect([wrong.status, wrong.body]).toEqual([401, errorOf('UNAUTHENTICATED', 'Wrong username or password.')]);
    const empty = await api('POST', '/api/login', { body: { username: names.bob } });
    expect([empty.status, empty.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'Enter your username and your password.'),
    ]);
  });

  it('logs out: 204, the cookie cleared, the token dead; again is 204', async () => {
    const { body } = await api('POST', '/api/login', { body: { username: names.carol, password: PASSWORD } });
    const out = await api('POST', '/api/logout', { token: body.token });
    expect(out.status).toBe(204);
    expect(sessionCookieOf(out)).toBe('chirp_session=');
    expect(out.headers['set-cookie']?.find((c) => c.startsWith('chirp_session='))).toMatch(/Max-Age=0/i);
    const me = await api('GET', '/api/me', { token: body.token });
    expect([me.status, me.body]).toEqual([
      401,
      errorOf('UNAUTHENTICATED', 'Your session has ended. Please log in again.'),
    ]);
    expect((await api('POST', '/api/logout', { token: body.token })).status).toBe(204);
  });
});

describe('posts, follows, timelines, search', () => {
  const word = `apiword${suffix}`;

  it('posts: 201 with the post; the same idempotency key gives the same post', async () => {
    const reply = await api('POST', '/api/posts', {
      token: tokens[names.bob],
      body: { text: `Hello ${word} 🐦`, idempotencyKey: `key-${suffix}-post1` },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      post: {
        id: expect.any(String),
        authorId: expect.any(String),
        authorUsername: names.bob,
        text: `Hello ${word} 🐦`,
        createdAt: expect.any(String),
      },
    });
    const retry = await api('POST', '/api/posts', {
      token: tokens[names.bob],
      body: { text: `Hello ${word} 🐦`, idempotencyKey: `key-${suffix}-post1` },
    });
    expect(retry.body.post.id).toBe(reply.body.post.id);
  });

  it('refuses an empty post and one of 142 characters, in words', async () => {
    const long = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: 'x'.repeat(142) } });
    expect([long.status, long.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'A post is at most 141 characters; this one has 142.'),
    ]);
    const empty = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: '   ' } });
    expect([empty.status, empty.body]).toEqual([400, errorOf('INVALID_ARGUMENT', 'Write something first.')]);
    const fits = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: '🐦'.repeat(141) } });
    expect(fits.status).toBe(201);
  });

  it('deletes a post for its author only: 204, then 404; 403 for anyone else; gone from the timeline', async () => {
    const { body } = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: `Brief ${word}` } });
    const path = `/api/posts/${body.post.id}`;
    const stranger = await api('DELETE', path, { token: tokens[names.alice] });
    expect([stranger.status, stranger.body]).toEqual([
      403,
      errorOf('PERMISSION_DENIED', 'Only its author can delete a post.'),
    ]);
    expect((await api('DELETE', path)).status).toBe(401);
    expect((await api('DELETE', path, { token: tokens[names.bob] })).status).toBe(204);
    const again = await api('DELETE', path, { token: tokens[names.bob] });
    expect([again.status, again.body]).toEqual([404, errorOf('NOT_FOUND', 'That post is gone already.')]);
    const timeline = await api('GET', `/api/users/${names.bob}/posts`);
    expect(timeline.body.posts.map((p: { id: string }) => p.id)).not.toContain(body.post.id);
  });

  it("sets one's display name and bio, trimmed, shows them on the profile, and refuses too long in words", async () => {
    const token = tokens[names.alice];
    const set = await api('PUT', '/api/profile', { token, body: { displayName: ' Alice A. ', bio: 'Hello.' } });
    expect([set.status, set.body]).toEqual([200, { displayName: 'Alice A.', bio: 'Hello.' }]);
    expect((await api('GET', `/api/users/${names.alice}`)).body).toMatchObject({
      displayName: 'Alice A.',
      bio: 'Hello.',
    });
    const long = await api('PUT', '/api/profile', { token, body: { displayName: 'x'.repeat(51), bio: '' } });
    expect([long.status, long.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'A display name is at most 50 characters; this one has 51.'),
    ]);
    expect((await api('PUT', '/api/profile', { body: { displayName: 'x', bio: '' } })).status).toBe(401);
    expect((await api('PUT', '/api/profile', { token, body: { displayName: '', bio: '' } })).body).toEqual({
      displayName: '',
      bio: '',
    });
  });

  it('follows and unfollows idempotently (204 each time), as the user page shows', async () => {
    const alice = tokens[names.alice];
    for (let i = 0; i < 2; i++) {
      expect((await api('PUT', `/api/follows/${names.bob}`, { token: alice })).status).toBe(204);
    }
    const seen = await api('GET', `/api/users/${names.bob.toUpperCase()}`, { token: alice });
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual({
      user: { id: expect.any(String), username: names.bob, createdAt: expect.any(String) },
      displayName: '',
      bio: '',
      followers: 1,
      following: 0,
      youFollow: true,
    });
    const anonymous = await api('GET', `/api/users/${names.alice}`);
    expect(anonymous.body).toMatchObject({ followers: 0, following: 1, youFollow: false });

    for (let i = 0; i < 2; i++) {
      expect((await api('DELETE', `/api/follows/${names.bob}`, { token: alice })).status).toBe(204);
    }
    expect((await api('GET', `/api/users/${names.bob}`, { token: alice })).body).toMatchObject({
      followers: 0,
      youFollow: false,
    });
    expect((await api('PUT', `/api/follows/${names.bob}`, { token: alice })).status).toBe(204);
  });

  it('answers 404 for nobody by that name, and 400 for following oneself', async () => {
    const nobody = `nobody_${suffix}`;
    const follow = await api('PUT', `/api/follows/${nobody}`, { token: tokens[names.alice] });
    expect([follow.status, follow.body]).toEqual([404, errorOf('NOT_FOUND', `Nobody is called @${nobody}.`)]);
    expect((await api('GET', `/api/users/${nobody}`)).status).toBe(404);
    expect((await api('GET', `/api/users/${nobody}/posts`)).status).toBe(404);
    expect((await api('GET', '/api/users/not-a-name!')).status).toBe(404);
    const self = await api('PUT', `/api/follows/${names.alice}`, { token: tokens[names.alice] });
    expect([self.status, self.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it("pages through a user's posts and the home timeline with nextCursor", async () => {
    const carol = (await api('POST', '/api/login', { body: { username: names.carol, password: PASSWORD } })).body.token;
    for (let i = 1; i <= 22; i++) {
      const reply = await api('POST', '/api/posts', { token: carol, body: { text: `carol ${i}` } });
      expect(reply.status).toBe(201);
    }
    const first = await api('GET', `/api/users/${names.carol}/posts`);
    expect(first.status).toBe(200);
    expect(first.body.posts).toHaveLength(20);
    expect(first.body.posts[0].text).toBe('carol 22');
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api(
      'GET',
      `/api/users/${names.carol}/posts?cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect(second.body.posts.map((p: { text: string }) => p.text)).toEqual(['carol 2', 'carol 1']);
    expect(second.body.nextCursor).toBeUndefined();

    // Alice follows Bob, not Carol: her home timeline is Bob's posts only.
    const home = await api('GET', '/api/timeline', { token: tokens[names.alice] });
    expect(home.status).toBe(200);
    expect(new Set(home.body.posts.map((p: { authorUsername: string }) => p.authorUsername))).toEqual(
      new Set([names.bob]),
    );
    const bad = await api('GET', `/api/timeline?cursor=${'x'.repeat(201)}`, { token: tokens[names.alice] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it('searches posts by word and people by name prefix', async () => {
    const posts = await api('GET', `/api/search?q=${word}`);
    expect(posts.status).toBe(200);
    expect(posts.body.posts.map((p: { text: string }) => p.text)).toEqual([`Hello ${word} 🐦`]);
    expect(posts.body.users).toEqual([]);
    const people = await api('GET', `/api/search?q=${names.bob.slice(0, 8)}`);
    expect(people.body.users.map((u: { username: string }) => u.username)).toContain(names.bob);
    const empty = await api('GET', '/api/search?q=%20');
    expect([empty.status, empty.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });
});

describe('failures, as JSON', () => {
  it('answers 401 on every route that needs a session when there is none', async () => {
    const calls: Array<[string, string, object?]> = [
      ['GET', '/api/me'],
      ['GET', '/api/timeline'],
      ['POST', '/api/posts', { text: 'hi' }],
      ['PUT', `/api/follows/${names.bob}`],
      ['DELETE', `/api/follows/${names.bob}`],
      ['DELETE', '/api/posts/some-post'],
      ['PUT', '/api/profile', { displayName: 'x', bio: '' }],
    ];
    for (const [method, path, body] of calls) {
      const reply = await api(method, path, body ? { body } : {});
      expect([method, path, reply.status, reply.body]).toEqual([
        method,
        path,
        401,
        errorOf('UNAUTHENTICATED', 'Log in first: send the session cookie or an Authorization: Bearer token.'),
      ]);
    }
    const forged = await api('GET', '/api/me', { token: 'not-a-session-token-at-all' });
    expect([forged.status, forged.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('answers 400 for malformed JSON, another content type or a non-object body; 413 over the limit', async () => {
    const login = (body: string, headers: Record<string, string> = {}) => api('POST', '/api/login', { body, headers });
    const malformed = await login('{"username": ');
    expect([malformed.status, malformed.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'The body is not valid JSON.'),
    ]);
    const form = await login('username=a&password=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([form.status, form.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'Send the body as JSON, with Content-Type: application/json.'),
    ]);
    const array = await login('[1, 2]');
    expect([array.status, array.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const huge = await api('POST', '/api/posts', {
      token: tokens[names.bob],
      body: { text: 'x'.repeat(64 * 1024) },
    });
    expect([huge.status, huge.body]).toEqual([
      413,
      errorOf('RESOURCE_EXHAUSTED', 'The body is too large: at most 16384 bytes, please.'),
    ]);
  });

  it('answers NUL, lone surrogates and broken percent-encoding with 400 in words, never 500', async () => {
    const unstorable =
      /^Some of that input was not accepted \(\w+: must not contain NUL or unpaired surrogate characters\)\.$/;
    const nulPost = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: 'hi\0there' } });
    expect([nulPost.status, nulPost.body]).toEqual([400, errorOf('INVALID_ARGUMENT', unstorable)]);
    const halfEmoji = await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: 'bird \ud83d' } });
    expect([halfEmoji.status, halfEmoji.body]).toEqual([400, errorOf('INVALID_ARGUMENT', unstorable)]);
    // bcrypt would stop at the NUL: this password must not be 'abcd' in disguise.
    const nulPassword = await api('POST', '/api/signup', {
      body: { username: `nul_${suffix}`, password: 'abcd\0abcd' },
    });
    expect([nulPassword.status, nulPassword.body]).toEqual([400, errorOf('INVALID_ARGUMENT', unstorable)]);
    const nulSearch = await api('GET', '/api/search?q=a%00b');
    expect([nulSearch.status, nulSearch.body]).toEqual([400, errorOf('INVALID_ARGUMENT', unstorable)]);
    const badPath = await api('GET', '/api/users/%ff');
    expect([badPath.status, badPath.body]).toEqual([
      400,
      errorOf('INVALID_ARGUMENT', 'The username in the path is not valid URL encoding.'),
    ]);
    const page = await fetch(`${system.web.url}/u/%ff`);
    expect([page.status, await page.text()]).toEqual([400, 'That address is not valid URL encoding.\n']);
  });

  it('answers an unknown API path with a JSON 404, and a wrong method with 405', async () => {
    const unknown = await api('GET', '/api/nothing/here');
    expect([unknown.status, unknown.body]).toEqual([
      404,
      errorOf('NOT_FOUND', 'There is no API at /api/nothing/here.'),
    ]);
    expect((await api('GET', '/api/posts')).status).toBe(405);
  });

  it('carries the security headers on JSON too (a policy that loads nothing), and is never cached', async () => {
    const reply = await api('GET', `/api/users/${names.bob}`);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['cache-control']).toMatch(/no-store/);
    // Dynamic: a change shows on the very next read.
    await api('POST', '/api/posts', { token: tokens[names.bob], body: { text: 'fresh' } });
    expect((await api('GET', `/api/users/${names.bob}/posts`)).body.posts[0].text).toBe('fresh');
  });

  it('rides out posts restarting: a read is retried until posts answers, a post fails at once with 503', async () => {
    // A second web server, reaching posts through a proxy that refuses connections as a restarting server does.
    const env = system.stack.env();
    const proxy = await TcpProxy.start({ target: env.POSTS_ADDR! });
    await proxy.setBlackout('refuse');
    const restarting = await startWebApp({ ...env, POSTS_ADDR: proxy.address, REQUEST_TIMEOUT_MS: '10000' });
    try {
      const restartingApi = apiClient(restarting.url);
      const read = restartingApi('GET', `/api/users/${names.bob}/posts`);
      await sleep(1_000); // a few refused attempts
      await proxy.setBlackout('none');
      const reply = await read;
      console.log(`a read while posts was refusing for 1 s: ${reply.status} after ${Math.round(reply.ms)} ms`);
      expect(reply.status).toBe(200);
      expect(reply.body.posts.map((p: { text: string }) => p.text)).toContain('fresh');
      expect(reply.ms).toBeGreaterThan(900); // it waited for posts rather than failing

      await proxy.setBlackout('refuse');
      proxy.resetAll(); // posts crashed
      const write = await restartingApi('POST', '/api/posts', { token: tokens[names.alice], body: { text: 'lost?' } });
      expect([write.status, write.body.error.code]).toEqual([503, 'UNAVAILABLE']);
      expect(write.ms).toBeLessThan(5_000); // not retried: creating a post twice is not harmless
    } finally {
      await restarting.stop();
      await proxy.close();
    }
  }, 60_000);

  it('answers 503 when a service is down and 504 when it does not answer in time', async () => {
    // A second web server: posts where nobody listens, follows where a server accepts and never answers.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const broken = await startWebApp({
      ...system.stack.env(),
      POSTS_TRANSPORT: 'tcp',
      POSTS_ADDR: `127.0.0.1:${await freePort()}`,
      FOLLOWS_TRANSPORT: 'tcp',
      FOLLOWS_ADDR: `127.0.0.1:${silentPort}`,
      REQUEST_TIMEOUT_MS: '1000',
    });
    try {
      const brokenApi = apiClient(broken.url);
      const down = await brokenApi('GET', '/api/timeline', { token: tokens[names.alice] });
      expect([down.status, down.body]).toEqual([
        503,
        errorOf('UNAVAILABLE', 'The posts service is not reachable right now. Please try again in a moment.'),
      ]);
      const slow = await brokenApi('PUT', `/api/follows/${names.carol}`, { token: tokens[names.alice] });
      expect([slow.status, slow.body]).toEqual([
        504,
        errorOf('DEADLINE_EXCEEDED', 'The follow service took too long to answer. Please try again.'),
      ]);
    } finally {
      await broken.stop();
      silent.close();
    }
  }, 60_000);
});
