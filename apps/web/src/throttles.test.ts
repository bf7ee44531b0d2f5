/**
 * auth's throttles as the web API answers them, at their default limits, counted by the client's
 * address as the app finds it: the socket's peer, or X-Forwarded-For only from a trusted proxy.
 * The production build served by its server, the back end on TCP and PostgreSQL.
 *
 * Other clients and a reverse proxy are played by connecting from other loopback addresses:
 * 127.0.0.1 is an ordinary client, 127.0.0.2 the app's one trusted proxy (WEB_TRUSTED_PROXIES),
 * 127.0.0.3 and 127.0.0.4 strangers who forge forwarding headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Api, type ApiCall, type ApiReply } from './testing/api-client.js';
import { startWebStack, type WebStack } from './testing/web-stack.js';

const PASSWORD = 'correct horse battery';
const PROXY = '127.0.0.2';
const STRANGER = '127.0.0.3';
/** Another, for sign-ups: the first is locked out of log-in by then, and a sign-up logs in too. */
const FARMER = '127.0.0.4';
/** auth's defaults (services/auth/src/config.ts). */
const FAILURES_PER_ADDRESS = 20;
const SIGNUPS_PER_ADDRESS = 10;
const suffix = Math.random().toString(36).slice(2, 8);
const nameOf = (who: string) => `${who}_${suffix}`;

let system: WebStack;
let api: Api;

beforeAll(async () => {
  system = await startWebStack('tcp', {}, { WEB_TRUSTED_PROXIES: PROXY });
  api = apiClient(system.web.url);
}, 300_000);

afterAll(() => system?.stop(), 60_000);

/** A request through the trusted proxy, for the client at `client`. */
const viaProxy = (client: string): ApiCall => ({ localAddress: PROXY, headers: { 'x-forwarded-for': client } });
const logIn = (username: string, password: string, from: ApiCall = {}) =>
  api('POST', '/api/login', { ...from, body: { username, password } });
const signUp = (username: string, from: ApiCall = {}) =>
  api('POST', '/api/signup', { ...from, body: { username, password: PASSWORD } });

describe('throttles by client address', () => {
  it("do not let a stranger's failures lock the owner out: counted by the address the trusted proxy forwards", async () => {
    const owner = nameOf('owner');
    expect((await signUp(owner, viaProxy('198.51.100.10'))).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await logIn(owner, `guess ${i}`, viaProxy('203.0.113.10'))).status).toBe(401);
    const stranger = await logIn(owner, PASSWORD, viaProxy('203.0.113.10'));
    expect([stranger.status, stranger.headers['retry-after']]).toEqual([429, expect.stringMatching(/^[1-9]\d*$/)]);
    // The owner, at home behind the same proxy, and on a direct connection: let in.
    const home = await logIn(owner, PASSWORD, viaProxy('198.51.100.10'));
    console.log(`stranger after 5 failures: ${stranger.status}; the owner from another address: ${home.status}`);
    expect(home.status).toBe(200);
    expect((await logIn(owner, PASSWORD)).status).toBe(200);
  });

  it('refuse password spraying across 50 usernames from one address with 429, whatever X-Forwarded-For it forges', async () => {
    const bystander = nameOf('bystander');
    expect((await signUp(bystander, viaProxy('198.51.100.11'))).status).toBe(201);
    const statuses: number[] = [];
    let refused: ApiReply | undefined;
    for (let i = 0; i < 50; i++) {
      const forged = { 'x-forwarded-for': `192.0.2.${i}`, 'x-real-ip': `192.0.2.${i}` };
      const reply = await logIn(nameOf(`sprayed${i}`), 'Spring2026!', { localAddress: STRANGER, headers: forged });
      statuses.push(reply.status);
      if (reply.status === 429) refused ??= reply;
    }
    const count = (status: number) => statuses.filter((s) => s === status).length;
    console.log(`spraying 50 usernames from one address: ${count(401)} × 401, then ${count(429)} × 429`);
    expect(statuses).toEqual([...Array(FAILURES_PER_ADDRESS).fill(401), ...Array(50 - FAILURES_PER_ADDRESS).fill(429)]);
    expect(refused?.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(Number(refused?.headers['retry-after'])).toBeLessThanOrEqual(300);
    expect(refused?.body.error.code).toBe('RESOURCE_EXHAUSTED');
    // Even the right password, from there. It was the stranger's own address that was counted:
    // not the forged ones (192.0.2.1 through the proxy is fine), nor anyone else's.
    expect((await logIn(bystander, PASSWORD, { localAddress: STRANGER })).status).toBe(429);
    expect((await logIn(bystander, PASSWORD, viaProxy('192.0.2.1'))).status).toBe(200);
    expect((await logIn(bystander, PASSWORD)).status).toBe(200);
  });

  it(`refuse sign-ups beyond ${SIGNUPS_PER_ADDRESS} from one address with 429 and Retry-After, creating nobody`, async () => {
    const farm = viaProxy('192.0.2.200');
    for (let i = 0; i < SIGNUPS_PER_ADDRESS; i++) {
      const reply = await signUp(nameOf(`farm${i}`), farm);
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    }
    const over = await signUp(nameOf('farmed'), farm);
    console.log(
      `sign-up ${SIGNUPS_PER_ADDRESS + 1} from one address: ${over.status}, Retry-After: ${over.headers['retry-after']}`,
    );
    expect([over.status, over.body.error.code]).toEqual([429, 'RESOURCE_EXHAUSTED']);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(3000);
    expect((await api('GET', `/api/users/${nameOf('farmed')}`)).status).toBe(404);
    // A forged X-Forwarded-For from a stranger does not make a new address either.
    for (let i = 0; i < SIGNUPS_PER_ADDRESS; i++) {
      const reply = await signUp(nameOf(`fake${i}`), {
        localAddress: FARMER,
        headers: { 'x-forwarded-for': `192.0.2.${i}` },
      });
      expect(reply.status).toBe(201);
    }
    const forged = await signUp(nameOf('faked'), {
      localAddress: FARMER,
      headers: { 'x-forwarded-for': '192.0.2.99' },
    });
    expect(forged.status).toBe(429);
    expect((await signUp(nameOf('farmed'), viaProxy('192.0.2.201'))).status).toBe(201);
  });
});
