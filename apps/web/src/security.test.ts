/**
 * The app's security rules, each proven against the real system: the production build served
 * by its server (dist/server.js), the whole back end on TCP and PostgreSQL, bcrypt at its production cost (10)
 * so that timing is bcrypt's and not noise. Sessions (random, hashed, new per log-in, revoked
 * with their live socket), the cookie's attributes, log-in that does not tell which usernames
 * exist, the throttle by username (by client address: throttles.test.ts), bcrypt's
 * 72-byte limit, and cross-site requests to the API and to server actions (and whose
 * X-Forwarded-Host counts).
 *
 * Other clients and a reverse proxy are played by connecting from other loopback addresses:
 * 127.0.0.1 is an ordinary client, 127.0.0.2 the app's one trusted proxy (WEB_TRUSTED_PROXIES),
 * 127.0.0.3 a stranger who forges forwarding headers.
 *
 * Covered elsewhere, not repeated here: notify refusing a WebSocket handshake from a foreign
 * Origin (403) and closing only the socket that sends more than 4 KiB (1009) — on every
 * transport in services/notify/src/notify.test.ts; the CSP's nonce and connect-src as
 * Chromium applies them, with no violation on any page — browser.test.ts.
 */
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '@chirp/transport/testing';
import { sessionCookieAttributes } from './lib/cookie';
import { apiClient, sessionCookieOf, type Api } from './testing/api-client.js';
import { startWebStack, type WebStack } from './testing/web-stack.js';

const PASSWORD = 'correct horse battery';
const FOREIGN = 'https://evil.example';
const PROXY = '127.0.0.2';
const STRANGER = '127.0.0.3';
/**
 * Raised from auth's defaults (20 and 10) so that this file's many log-ins and sign-ups from
 * 127.0.0.1 stay under them; the per-address throttles are proven at their defaults in throttles.test.ts.
 */
const FAILURES_PER_ADDRESS = 40;
const SIGNUPS_PER_ADDRESS = 30;
const suffix = Math.random().toString(36).slice(2, 8);
const nameOf = (who: string) => `${who}_${suffix}`;

let system: WebStack;
let api: Api;
let authDb: pg.Client;

beforeAll(async () => {
  system = await startWebStack(
    'tcp',
    {
      AUTH_BCRYPT_COST: '10',
      AUTH_MAX_FAILED_LOGINS_PER_ADDRESS: String(FAILURES_PER_ADDRESS),
      AUTH_MAX_SIGNUPS_PER_ADDRESS: String(SIGNUPS_PER_ADDRESS),
      // notify's own re-check would close a logged-out socket too, but only after this long:
      // a socket closed within a second was closed by the log-out itself.
      NOTIFY_REVERIFY_MS: '60000',
    },
    { WEB_TRUSTED_PROXIES: PROXY },
  );
  api = apiClient(system.web.url);
  authDb = new pg.Client({ connectionString: system.stack.databaseOf('auth')?.url });
  await authDb.connect();
}, 300_000);

afterAll(async () => {
  await authDb?.end();
  await system?.stop();
}, 60_000);

async function signUp(who: string, password = PASSWORD): Promise<string> {
  const reply = await api('POST', '/api/signup', { body: { username: nameOf(who), password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body.token;
}

async function logIn(who: string, password = PASSWORD): Promise<string> {
  const reply = await api('POST', '/api/login', { body: { username: nameOf(who), password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.token;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A browser tab's socket to notify, authenticated by the session cookie as the page's would be. */
async function liveSocket(token: string) {
  const ws = new WebSocket(system.stack.notifyUrl, {
    headers: { cookie: `chirp_session=${token}`, origin: system.web.url },
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.on('close', (code) => resolve({ code, at: performance.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // the hello
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('sessions', () => {
  it('are 256 random bits, new at every log-in, each working, stored only as a hash', async () => {
    await signUp('tokens');
    const first = await logIn('tokens');
    const second = await logIn('tokens');
    expect(first).not.toBe(second);
    for (const token of [first, second]) {
      expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16); // ≥ 128 bits; auth makes 32 bytes
      expect((await api('GET', '/api/me', { token })).body.user.username).toBe(nameOf('tokens'));
    }
    const { rows } = await authDb.query<{ row: string }>('SELECT s::text AS row FROM sessions s');
    expect(rows.filter((r) => r.row.includes(first) || r.row.includes(second))).toEqual([]);
    expect(rows.filter((r) => r.row.includes(sha256(first)) || r.row.includes(sha256(second)))).toHaveLength(2);
  });

  it("die at log-out: 401 at once, and the session's live socket closed within a second", async () => {
    await signUp('leaver');
    const leaving = await logIn('leaver');
    const staying = await logIn('leaver'); // the same person in another browser
    const tab = await liveSocket(leaving);
    const otherBrowser = await liveSocket(staying);

    const started = performance.now();
    const out = await api('POST', '/api/logout', { token: leaving });
    expect(out.status).toBe(204);
    expect((await api('GET', '/api/me', { token: leaving })).status).toBe(401);
    const { code, at } = await tab.closed;
    const closedAfterMs = at - started;
    console.log(`log-out answered in ${out.ms.toFixed(0)} ms; its socket closed ${closedAfterMs.toFixed(0)} ms after`);
    expect(code).toBe(4001);
    expect(closedAfterMs).toBeLessThan(1_000);
    expect(otherBrowser.ws.readyState).toBe(WebSocket.OPEN);
    expect((await api('GET', '/api/me', { token: staying })).status).toBe(200);
    otherBrowser.ws.close();
  });

  it('live in a cookie that is HttpOnly, SameSite=Lax and Path=/, Secure in production', async () => {
    const reply = await api('POST', '/api/signup', { body: { username: nameOf('cookie'), password: PASSWORD } });
    const cookie = reply.headers['set-cookie']?.find((c) => c.startsWith('chirp_session='));
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Expires=/);
    expect(cookie, 'plain http to 127.0.0.1: a Secure cookie would never come back').not.toMatch(/; Secure/i);

    // The Secure rule, for the cases a test server cannot be: a real host, behind a TLS proxy.
    const secure = (production: boolean, host: string, forwardedProto: string | null = null, cookieSecure?: boolean) =>
      sessionCookieAttributes({ production, cookieSecure }, { host, forwardedProto }).secure;
    expect(secure(true, 'chirp.example')).toBe(true);
    expect(secure(true, 'chirp.example:3000', 'https')).toBe(true);
    expect(secure(true, '127.0.0.1:3000', 'https')).toBe(true);
    expect(secure(true, '127.0.0.1:3000')).toBe(false);
    expect(secure(true, 'localhost:3000')).toBe(false);
    expect(secure(true, '[::1]:3000')).toBe(false);
    expect(secure(false, 'chirp.example')).toBe(false);
    expect(secure(true, 'chirp.example', null, false)).toBe(false);
    expect(secure(false, 'localhost', null, true)).toBe(true);
    expect(
      sessionCookieAttributes({ production: true, cookieSecure: undefined }, { host: 'x', forwardedProto: null }),
    ).toEqual({ httpOnly: true, sameSite: 'lax', path: '/', secure: true });
  });
});

describe('log-in', () => {
  it('answers an unknown username like a wrong password: same status, same body, similar time', async () => {
    const ATTEMPTS = 10;
    for (let i = 0; i < ATTEMPTS; i++) await signUp(`timed${i}`);
    const wrong: number[] = [];
    const unknown: number[] = [];
    const bodies = new Set<string>();
    // Interleaved, and each username tried once, so neither side meets the throttle or a warmer cache.
    for (let i = 0; i < ATTEMPTS; i++) {
      for (const [username, times] of [
        [nameOf(`timed${i}`), wrong],
        [nameOf(`ghost${i}`), unknown],
      ] as const) {
        const reply = await api('POST', '/api/login', { body: { username, password: 'not the password' } });
        expect(reply.status).toBe(401);
        bodies.add(JSON.stringify(reply.body));
        times.push(reply.ms);
      }
    }
    expect([...bodies]).toEqual([
      JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Wrong username or password.' } }),
    ]);
    console.log(
      `log-in medians over ${ATTEMPTS}: wrong password ${median(wrong).toFixed(1)} ms, unknown user ${median(unknown).toFixed(1)} ms`,
    );
    // bcrypt at cost 10 is most of a wrong password's time; without the dummy hash an unknown
    // username would answer in a small fraction of it.
    expect(median(unknown)).toBeGreaterThanOrEqual(median(wrong) / 2);
    expect(median(wrong)).toBeGreaterThanOrEqual(median(unknown) / 2);
  });

  it('is throttled per username from one address: 429 with Retry-After after 5 failures, other usernames unaffected', async () => {
    await signUp('guessed');
    await signUp('bystander');
    for (let i = 0; i < 5; i++) {
      const reply = await api('POST', '/api/login', { body: { username: nameOf('guessed'), password: `guess ${i}` } });
      expect(reply.status).toBe(401);
    }
    const throttled = await api('POST', '/api/login', { body: { username: nameOf('guessed'), password: PASSWORD } });
    const retryAfter = throttled.headers['retry-after'];
    console.log(`throttled: ${throttled.status}, Retry-After: ${retryAfter}`);
    expect(throttled.status).toBe(429);
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(300);
    expect(throttled.body).toEqual({
      error: {
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(
          /^Too many attempts in a short time\. Please try again in \d+ (minutes|seconds)\.$/,
        ),
      },
    });
    await logIn('bystander');
  });
});

describe('passwords over 72 bytes', () => {
  const exact = 'é'.repeat(36); // 72 bytes of UTF-8
  const over = `${exact}x`; // 73

  it('are refused at sign-up, by the web app and by auth itself, storing nothing', async () => {
    const web = await api('POST', '/api/signup', { body: { username: nameOf('long'), password: over } });
    expect([web.status, web.body]).toEqual([
      400,
      { error: { code: 'INVALID_ARGUMENT', message: 'That password is too long: at most 72 bytes, please.' } },
    ]);
    const direct = await failure(system.stack.auth.signUp({ username: nameOf('long'), password: over }));
    expect([direct.code, direct.message]).toEqual([
      'INVALID_ARGUMENT',
      'password: at most 72 bytes of UTF-8 (this one is 73); bcrypt would ignore the rest',
    ]);
    expect((await api('GET', `/api/users/${nameOf('long')}`)).status).toBe(404);
  });

  it('never log in as the account whose password is their first 72 bytes', async () => {
    await signUp('exact', exact);
    const longer = await api('POST', '/api/login', { body: { username: nameOf('exact'), password: over } });
    expect([longer.status, longer.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
    await logIn('exact', exact);
  });
});

describe('cross-site requests', () => {
  let victim: string;
  let cookie: string;
  const count = async (sql: string, value: string) =>
    Number((await authDb.query<{ n: string }>(sql, [value])).rows[0]?.n);
  const sessionsOf = (who: string) =>
    count('SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1', nameOf(who));
  const youFollow = async (who: string) =>
    (await api('GET', `/api/users/${nameOf(who)}`, { cookie })).body.youFollow as boolean;
  const postTexts = async () =>
    (await api('GET', `/api/users/${nameOf('victim')}/posts`)).body.posts.map((p: { text: string }) => p.text);

  beforeAll(async () => {
    victim = await signUp('victim');
    cookie = `chirp_session=${victim}`;
    await signUp('target');
    await signUp('followed');
    expect((await api('PUT', `/api/follows/${nameOf('followed')}`, { cookie })).status).toBe(204);
  }, 30_000);

  /** Each change, and how to tell afterwards that it did not happen. */
  const changes = [
    {
      route: 'POST /api/signup',
      body: { username: nameOf('forged'), password: PASSWORD },
      unchanged: async () => expect((await api('GET', `/api/users/${nameOf('forged')}`)).status).toBe(404),
    },
    {
      route: 'POST /api/login',
      body: { username: nameOf('victim'), password: PASSWORD },
      unchanged: async () => expect(await sessionsOf('victim')).toBe(1),
    },
    {
      route: 'POST /api/logout',
      unchanged: async () => expect((await api('GET', '/api/me', { cookie })).status).toBe(200),
    },
    {
      route: 'POST /api/posts',
      body: { text: `forged post ${suffix}` },
      unchanged: async () => expect(await postTexts()).not.toContain(`forged post ${suffix}`),
    },
    {
      route: `PUT /api/follows/${nameOf('target')}`,
      unchanged: async () => expect(await youFollow('target')).toBe(false),
    },
    {
      route: `DELETE /api/follows/${nameOf('followed')}`,
      unchanged: async () => expect(await youFollow('followed')).toBe(true),
    },
  ];

  it.each(changes)('refuses $route from another site, or without an Origin, with 403', async (change) => {
    const [method, path] = change.route.split(' ') as [string, string];
    for (const origin of [FOREIGN, null, 'null']) {
      const reply = await api(method, path, { cookie, origin, ...(change.body ? { body: change.body } : {}) });
      expect([origin, reply.status, reply.body.error.code]).toEqual([origin, 403, 'PERMISSION_DENIED']);
      expect(sessionCookieOf(reply)).toBeUndefined();
    }
    await change.unchanged();
  });

  it('accepts a Bearer token without an Origin, but not from another site', async () => {
    const text = `bearer post ${suffix}`;
    const foreign = await api('POST', '/api/posts', { token: victim, origin: FOREIGN, body: { text } });
    expect(foreign.status).toBe(403);
    const script = await api('POST', '/api/posts', { token: victim, origin: null, body: { text } });
    expect(script.status).toBe(201);
    // The same request from the site itself, with the cookie: the refusals above were the Origin's doing.
    const page = await api('POST', '/api/posts', { cookie, body: { text: `${text} 2` } });
    expect(page.status).toBe(201);
    expect(await postTexts()).toEqual(expect.arrayContaining([text, `${text} 2`]));
  });

  it('believes X-Forwarded-Host only from the trusted proxy', async () => {
    const text = `forwarded host ${suffix}`;
    const forged = await api('POST', '/api/posts', {
      cookie,
      origin: FOREIGN,
      headers: { 'x-forwarded-host': new URL(FOREIGN).host },
      body: { text },
    });
    console.log(`Origin ${FOREIGN} with a matching X-Forwarded-Host from an untrusted peer: ${forged.status}`);
    expect([forged.status, forged.body.error.code]).toEqual([403, 'PERMISSION_DENIED']);
    const fromStranger = await api('POST', '/api/posts', {
      cookie,
      origin: 'https://chirp.example',
      localAddress: STRANGER,
      headers: { 'x-forwarded-host': 'chirp.example' },
      body: { text },
    });
    expect(fromStranger.status).toBe(403);
    expect(await postTexts()).not.toContain(text);
    // The proxy says the site is chirp.example: a page of chirp.example may post, another site may not.
    const proxied = (origin: string) =>
      api('POST', '/api/posts', {
        cookie,
        origin,
        localAddress: PROXY,
        headers: { 'x-forwarded-host': 'chirp.example', 'x-forwarded-for': '198.51.100.77' },
        body: { text },
      });
    expect((await proxied(FOREIGN)).status).toBe(403);
    expect((await proxied('https://chirp.example')).status).toBe(201);
  });

  it('refuses a server action from another site, or without an Origin, with 403 like the API: log-out by a raw request', async () => {
    const token = await logIn('victim');
    const home = await api('GET', '/', { cookie: `chirp_session=${token}` });
    const actionId = /name="\$ACTION_ID_([0-9a-f]+)"/.exec(String(home.body))?.[1];
    expect(actionId, 'the log-out form carries its action id').toBeDefined();
    const logOutAction = (origin: string | null, headers: Record<string, string> = {}) =>
      api('POST', '/', {
        origin,
        cookie: `chirp_session=${token}`,
        body: '[]',
        headers: { 'next-action': actionId!, 'content-type': 'text/plain;charset=UTF-8', ...headers },
      });

    const forged = await logOutAction(FOREIGN);
    const noOrigin = await logOutAction(null);
    const forwarded = await logOutAction(FOREIGN, { 'x-forwarded-host': new URL(FOREIGN).host });
    console.log(
      `server action from ${FOREIGN}: ${forged.status}; without an Origin: ${noOrigin.status}; with a forged X-Forwarded-Host: ${forwarded.status}`,
    );
    expect([forged.status, noOrigin.status, forwarded.status]).toEqual([403, 403, 403]);
    expect((await api('GET', '/api/me', { token })).status).toBe(200);
    // The same request from this site does log out: it was the Origin that stopped it.
    const own = await logOutAction(system.web.url);
    expect(own.status).toBeLessThan(400);
    expect((await api('GET', '/api/me', { token })).status).toBe(401);
  });
});

describe('pages', () => {
  it('carry a Content-Security-Policy that allows only this site’s scripts, with a nonce', async () => {
    const login = await api('GET', '/login');
    const policy = String(login.headers['content-security-policy']);
    expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    expect(policy).toContain("object-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("form-action 'self'");
    expect(policy).not.toContain('unsafe-eval');
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(String(login.body)).toContain(`nonce="${nonce}"`);
    const again = await api('GET', '/login');
    expect(/'nonce-([^']+)'/.exec(String(again.headers['content-security-policy']))?.[1]).not.toBe(nonce);
  });
});
