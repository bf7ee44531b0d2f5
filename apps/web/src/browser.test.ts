/**
 * The web app in a real browser (Debian's Chromium, driven by playwright-core), against the
 * whole back end on a real transport and PostgreSQL: what a person sees when they sign up,
 * follow someone, post, get a post live, search, and mistype a password.
 *
 * Runs on http, tcp, udp and amqp by default; WEB_TEST_TRANSPORT=mixed (or a comma list, e.g. tcp,mixed)
 * points it at others. The production build is made once per run, only if a source changed
 * since the last one (WEB_TEST_REBUILD=1 forces it). Screenshots of the home, user and
 * Transports pages go to apps/web/test-results/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORT_PRESETS, chirpTransportConfig } from '@chirp/contracts';
import { TRANSPORT_KINDS } from '@chirp/transport';
import { freePort, sleep } from '@chirp/transport/testing';
import type { Stack, StackOptions } from '../../../tests/src/stack.js';
import { WEB_DIR, ensureBuilt, startWebApp, type WebApp } from './testing/web-app.js';
import { startWebStack, type WebStack } from './testing/web-stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(WEB_DIR, 'test-results');
const KNOWN: readonly string[] = [...TRANSPORT_KINDS, ...Object.keys(TRANSPORT_PRESETS)];
const TRANSPORTS = (process.env.WEB_TEST_TRANSPORT ?? 'http,tcp,udp,amqp')
  .split(',')
  .map((t) => t.trim())
  .filter((t): t is StackOptions['transport'] => KNOWN.includes(t));
const PASSWORD = 'correct horse battery';
/** Generous: a page's first render is slow on a busy 2-core machine. A live post arrives far quicker. */
const SEE = { timeout: 15_000 };

let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const [built] = await Promise.all([
    ensureBuilt(),
    chromium
      .launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-sync',
        ],
      })
      .then((b) => (browser = b)),
  ]);
  if (built) console.log('web: built the app (next build --webpack)');
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(TRANSPORTS)('the web app with services on %s', (kind) => {
  let system: WebStack;
  let stack: Stack;
  let web: WebApp;
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;
  const suffix = Math.random().toString(36).slice(2, 8);
  const names = { alice: `alice_${suffix}`, bob: `bob_${suffix}` };
  const word = `chirpword${suffix}`;

  /** What the browser said went wrong in the pages (uncaught errors, console errors such as CSP violations). */
  const browserErrors: string[] = [];

  /** A person's own browser (a context: its own cookies), phone-sized. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, baseURL: web.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(SEE.timeout);
    page.on('pageerror', (err) => browserErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') browserErrors.push(`${page.url()}: ${message.text()}`);
    });
    return page;
  }

  async function signUp(page: Page, username: string): Promise<void> {
    await page.goto('/signup');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${web.url}/`);
    await expect.poll(() => page.getByRole('link', { name: `@${username}` }).count(), SEE).toBe(1);
  }

  async function post(page: Page, text: string): Promise<void> {
    await page.getByLabel("What's happening?").fill(text);
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await expect.poll(() => page.getByLabel("What's happening?").inputValue(), SEE).toBe('');
  }

  beforeAll(async () => {
    // Every service also serves every transport, for the Transports page's comparison.
    system = await startWebStack(kind, {}, {}, [...TRANSPORT_KINDS]);
    ({ stack, web } = system);
    alice = await newPage();
    bob = await newPage();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await system?.stop();
  }, 60_000);

  it('signs two people up, each in their own browser', async () => {
    await signUp(alice, names.alice);
    await signUp(bob, names.bob);
    const cookies = await alice.context().cookies();
    expect(cookies.find((c) => c.name === 'chirp_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  });

  it("lets Alice follow Bob from Bob's page", async () => {
    await alice.goto(`/u/${names.bob}`);
    await alice.getByRole('button', { name: `Follow @${names.bob}` }).click();
    await alice.getByRole('button', { name: `Unfollow @${names.bob}` }).waitFor();
    await expect.poll(() => alice.getByTestId('followers').textContent(), SEE).toBe('1 follower');
  });

  it("shows Bob's new post on Alice's home timeline live, without a reload", async () => {
    await alice.goto('/');
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    await alice.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const text = `Hello from Bob ${word} <b>not bold</b> 🐦`;
    await post(bob, text);

    await alice.locator('.post-text', { hasText: text }).waitFor();
    expect(await alice.locator('.post.fresh', { hasText: text }).count()).toBe(1); // pushed, not rendered by the server
    expect(await alice.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // User text is text: the tag is shown as typed, not made into an element.
    expect(await alice.locator('.post-text b').count()).toBe(0);
    await alice.screenshot({
      path: path.join(SCREENSHOTS, `home-${kind}.png`),
      fullPage: true,
      animations: 'disabled',
    });
  });

  it('keeps a 142-character post from being sent', async () => {
    await bob.goto('/');
    const box = bob.getByLabel("What's happening?");
    const button = bob.getByRole('button', { name: 'Post', exact: true });
    await box.fill('x'.repeat(142));
    expect(await button.isDisabled()).toBe(true);
    expect(await bob.getByTestId('counter').textContent()).toBe('142 / 141 — 1 over the limit');
    // Characters are counted as a person counts them: 141 birds fit.
    await box.fill('🐦'.repeat(141));
    expect(await bob.getByTestId('counter').textContent()).toBe('141 / 141');
    expect(await button.isEnabled()).toBe(true);

    // The counter is a courtesy; the server checks again. Force the button and send 142.
    const tooLong = `${'y'.repeat(141)}z`;
    await box.fill(tooLong);
    await button.evaluate((b) => b.removeAttribute('disabled'));
    await button.click();
    await bob.locator('form').getByRole('alert').waitFor();
    expect(await bob.locator('form').getByRole('alert').textContent()).toBe(
      'A post is at most 141 characters; this one has 142.',
    );
    // Once the draft changes, the answer to the old one is gone.
    await box.press('Backspace');
    await expect.poll(() => bob.locator('form').getByRole('alert').count(), SEE).toBe(0);
    await bob.goto(`/u/${names.bob}`);
    expect(await bob.locator('.post-text', { hasText: 'yyyyz' }).count()).toBe(0);
  });

  it('says as it is typed that a username is too long, keeps every character, and the server refuses it in words', async () => {
    const newcomer = await newPage();
    await newcomer.goto('/signup');
    const field = newcomer.getByLabel('Username');
    await field.fill(`n${'e'.repeat(23)}w`);
    expect(await field.inputValue()).toHaveLength(25); // not cut short at 20
    expect(await newcomer.getByTestId('username-hint').textContent()).toBe(
      '3 to 20 letters, digits or underscores — this one is 5 too long.',
    );
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await newcomer.getByLabel('Password').fill(PASSWORD);
    await newcomer.getByRole('button', { name: 'Sign up' }).click();
    const alert = newcomer.locator('form').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('A username is 3 to 20 letters, digits or underscores.');
    expect(newcomer.url()).toBe(`${web.url}/signup`);
    await field.fill('short_enough');
    expect(await newcomer.getByTestId('username-hint').textContent()).toBe('3 to 20 letters, digits or underscores.');
  });

  it('shows the logo on every page and serves the favicon it names', async () => {
    const visitor = await newPage();
    await visitor.goto('/login');
    expect(await visitor.locator('.brand svg.logo').isVisible()).toBe(true);
    const icon = await visitor.locator('link[rel="icon"]').first().getAttribute('href');
    expect(icon).toMatch(/^\/icon\.svg/);
    const answer = await visitor.request.get(icon!);
    expect(answer.status()).toBe(200);
    expect(answer.headers()['content-type']).toMatch(/^image\/svg\+xml/);
  });

  it("lets Bob delete his post: gone from his page, from search, and from Alice's open timeline without a reload", async () => {
    await alice.goto('/');
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    await alice.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const text = `Soon gone gone${suffix}`;
    await bob.goto('/');
    await post(bob, text);
    await alice.locator('.post-text', { hasText: text }).waitFor();

    await bob.goto(`/u/${names.bob}`);
    const remove = bob.locator('.post', { hasText: text }).getByRole('button', { name: 'Delete' });
    bob.once('dialog', (dialog) => void dialog.dismiss()); // "Delete this post?" — no: it stays
    await remove.click();
    await sleep(300);
    expect(await bob.locator('.post', { hasText: text }).count()).toBe(1);
    bob.once('dialog', (dialog) => void dialog.accept());
    await remove.click();
    await expect.poll(() => bob.locator('.post', { hasText: text }).count(), SEE).toBe(0);

    await expect.poll(() => alice.locator('.post', { hasText: text }).count(), SEE).toBe(0);
    expect(await alice.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await alice.goto(`/search?q=gone${suffix}`);
    await alice.getByRole('heading', { name: 'Posts' }).waitFor();
    expect(await alice.locator('.post-text', { hasText: text }).count()).toBe(0);
    // Only its author is offered the button.
    await alice.goto(`/u/${names.bob}`);
    await alice.locator('.post').first().waitFor();
    expect(await alice.getByRole('button', { name: 'Delete' }).count()).toBe(0);
  });

  it("shows times as how long ago, the exact time in the viewer's zone on hover, and keeps them current", async () => {
    const context = await browser.newContext({ baseURL: web.url, timezoneId: 'Asia/Tokyo' });
    contexts.push(context);
    const reader = await context.newPage();
    await reader.clock.install();
    await reader.goto(`/u/${names.bob}`);
    const newest = reader.locator('.post time').first();
    await expect.poll(() => newest.textContent(), SEE).toMatch(/^(just now|\d+ min ago)$/);
    const exact = await newest.getAttribute('title');
    expect(exact).toMatch(/^\w+day, \d{1,2} \w+ \d{4} at \d{2}:\d{2}:\d{2} GMT\+9$/);
    const shown = new Date(Date.parse((await newest.getAttribute('datetime'))!));
    expect(exact).toContain(`${String((shown.getUTCHours() + 9) % 24).padStart(2, '0')}:`);
    await reader.clock.fastForward('01:01:00');
    await expect.poll(() => newest.textContent(), SEE).toBe('1 h ago');
  });

  it('keeps new posts behind "N new posts" while Alice reads further down, and tells screen readers', async () => {
    const tag = `reading${suffix}`;
    const bobId = (await stack.auth.findUsers({ prefix: names.bob, limit: 1 })).users[0]!.id;
    const bobPosts = (text: string) => stack.posts.create({ authorId: bobId, authorUsername: names.bob, text });
    for (let n = 1; n <= 12; n++) await bobPosts(`Filler ${n} so the timeline scrolls`);
    await alice.goto('/');
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    await alice.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const readingAt = await alice.evaluate(() => window.scrollY);
    expect(readingAt).toBeGreaterThan(200);
    /** Where the last post Alice is reading sits in her window. */
    const lastPostTop = () =>
      alice
        .locator('.post')
        .last()
        .evaluate((li) => li.getBoundingClientRect().top);
    const before = await lastPostTop();

    await bobPosts(`While you read 1 ${tag}`);
    await bobPosts(`While you read 2 ${tag}`);
    const button = alice.getByTestId('new-posts');
    await expect.poll(() => button.textContent(), SEE).toBe('2 new posts');
    expect(await alice.locator('.post-text', { hasText: 'While you read' }).count()).toBe(0);
    // Nothing moved under her.
    expect(await alice.evaluate(() => window.scrollY)).toBe(readingAt);
    expect(await lastPostTop()).toBe(before);
    expect(await alice.getByTestId('announcer').textContent()).toBe(
      `New post from @${names.bob}, waiting at the top of the timeline.`,
    );

    await button.click();
    await alice.locator('.post-text', { hasText: `While you read 2 ${tag}` }).waitFor();
    expect(await alice.locator('.post-text').first().textContent()).toBe(`While you read 2 ${tag}`);
    await expect.poll(() => alice.evaluate(() => window.scrollY), SEE).toBe(0);
    expect(await button.count()).toBe(0);

    // Scrolled down again, and back up by hand: the waiting post shows without the button.
    await alice.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await bobPosts(`While you read 3 ${tag}`);
    await expect.poll(() => button.textContent(), SEE).toBe('1 new post');
    await alice.evaluate(() => window.scrollTo(0, 0));
    await alice.locator('.post-text', { hasText: `While you read 3 ${tag}` }).waitFor();
    expect(await button.count()).toBe(0);

    // At the top, a new post goes straight in, and is read out.
    await bobPosts(`At the top ${tag}`);
    await alice.locator('.post.fresh', { hasText: `At the top ${tag}` }).waitFor();
    expect(await alice.getByTestId('announcer').textContent()).toBe(`New post from @${names.bob}: At the top ${tag}`);
  });

  it('suggests people to a newcomer whose timeline is empty, and following one fills it', async () => {
    const newcomer = await newPage();
    await signUp(newcomer, `new_${suffix}`);
    const suggestions = newcomer.getByRole('region', { name: 'Who to follow' });
    const bob = suggestions.locator('.person', { hasText: `@${names.bob}` });
    await bob.waitFor();
    expect(await suggestions.locator('.person', { hasText: `@new_${suffix}` }).count()).toBe(0);
    await bob.getByRole('button', { name: `Follow @${names.bob}` }).click();
    await newcomer
      .locator('.post', { hasText: `@${names.bob}` })
      .first()
      .waitFor();
    await expect.poll(() => suggestions.count(), SEE).toBe(0); // somebody else is in it now
  });

  it('lists followers and followees from the counts, each with a follow button', async () => {
    await bob.goto(`/u/${names.bob}`);
    await bob.getByTestId('followers').click();
    await bob.waitForURL(`${web.url}/u/${names.bob}/followers`);
    const alicesRow = bob.locator('.person', { hasText: `@${names.alice}` });
    await alicesRow.getByRole('button', { name: `Follow @${names.alice}` }).click();
    await alicesRow.getByRole('button', { name: `Unfollow @${names.alice}` }).waitFor();

    await bob.goto(`/u/${names.alice}`);
    await bob.getByTestId('following').click();
    await bob.waitForURL(`${web.url}/u/${names.alice}/following`);
    // Bob is in Alice's list, with no button for himself.
    const bobsRow = bob.locator('.person', { hasText: `@${names.bob}` });
    await bobsRow.waitFor();
    expect(await bobsRow.getByRole('button').count()).toBe(0);
    await bob.goto(`/u/${names.alice}`);
    expect(await bob.getByTestId('followers').textContent()).toBe('1 follower');
  });

  it('pages search results, people and posts, and timelines back and forth', async () => {
    const tag = `paging${suffix}`;
    const bobId = (await stack.auth.findUsers({ prefix: names.bob, limit: 1 })).users[0]!.id;
    for (let n = 1; n <= 25; n++) {
      await stack.posts.create({ authorId: bobId, authorUsername: names.bob, text: `Page ${n} ${tag}` });
    }
    for (let n = 10; n <= 20; n++) await stack.auth.signUp({ username: `pp${suffix}${n}`, password: PASSWORD });

    await alice.goto(`/search?q=${tag}`);
    const posts = alice.getByRole('region', { name: 'Posts' });
    await expect.poll(() => posts.locator('.post').count(), SEE).toBe(20);
    await posts.getByRole('link', { name: 'More posts' }).click();
    await expect.poll(() => posts.locator('.post').count(), SEE).toBe(5);
    await alice.goto(`/search?q=pp${suffix}`);
    const people = alice.getByRole('region', { name: 'People' });
    await expect.poll(() => people.locator('.person').count(), SEE).toBe(10);
    await people.getByRole('link', { name: 'More people' }).click();
    await expect
      .poll(() => people.locator('.person').allTextContents(), SEE)
      .toEqual([expect.stringContaining(`@pp${suffix}20`)]);

    await alice.goto(`/u/${names.bob}`);
    const texts = () => alice.locator('.post-text').allTextContents();
    const newest = await texts();
    expect(newest).toHaveLength(20);
    await alice.getByRole('link', { name: 'Older posts' }).click();
    await alice.getByRole('heading', { name: 'Older posts' }).waitFor();
    const older = await texts();
    expect(older).not.toContain(newest[0]);
    await alice.getByRole('link', { name: /^Newe(r|st) posts$/ }).click();
    await expect.poll(texts, SEE).toEqual(newest);
  });

  it('lets Bob give himself a display name and a bio, shown to others, with the limits said as he types', async () => {
    await bob.goto(`/u/${names.bob}`);
    await bob.getByText('Edit profile').click();
    const name = bob.getByLabel('Display name');
    await name.fill('B'.repeat(53));
    expect(await bob.getByTestId('name-count').textContent()).toBe('53 / 50 — 3 over the limit');
    expect(await bob.getByRole('button', { name: 'Save profile' }).isDisabled()).toBe(true);
    await name.fill('  Bob the Builder ');
    await bob.getByLabel('Bio').fill('Builds things.\nFixes them too.');
    expect(await bob.getByTestId('bio-count').textContent()).toBe('30 / 160');
    await bob.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => bob.getByRole('heading', { level: 1 }).textContent(), SEE).toBe('Bob the Builder');

    await alice.goto(`/u/${names.bob}`);
    expect(await alice.getByRole('heading', { level: 1 }).textContent()).toBe('Bob the Builder');
    expect(await alice.locator('.handle').textContent()).toBe(`@${names.bob}`);
    expect(await alice.getByTestId('bio').textContent()).toBe('Builds things.\nFixes them too.');
    expect(await alice.getByText('Edit profile').count()).toBe(0); // only its owner may
    // Everyone has an avatar drawn from their name: Bob's differs from Alice's.
    const avatar = (name: string) => alice.locator(`svg.avatar[data-avatar="${name}"]`).first().innerHTML();
    await alice.goto(`/u/${names.alice}`);
    const alices = await avatar(names.alice);
    await alice.goto(`/u/${names.bob}`);
    expect(await avatar(names.bob)).not.toBe(alices);
  });

  it('says in words when the password is wrong', async () => {
    const stranger = await newPage();
    await stranger.goto('/login');
    await stranger.getByLabel('Username').fill(names.alice);
    await stranger.getByLabel('Password').fill('not the password');
    await stranger.getByRole('button', { name: 'Log in' }).click();
    const alert = stranger.locator('form').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('Wrong username or password.');
    expect(stranger.url()).toBe(`${web.url}/login`);
  });

  it('finds the post and the person', async () => {
    await alice.goto(`/search?q=${word}`);
    await alice.locator('.post-text', { hasText: word }).waitFor();
    await alice.goto(`/search?q=${names.bob.slice(0, 8)}`);
    await alice
      .getByRole('region', { name: 'People' })
      .getByRole('link', { name: `@${names.bob}` })
      .waitFor();
  });

  it("shows each service's transport, and a post's whole trace: the call, the event, the push to a follower", async () => {
    await bob.goto(`/u/${names.bob}`);
    await bob.locator('.post').first().waitFor();
    await bob.screenshot({ path: path.join(SCREENSHOTS, `user-${kind}.png`), fullPage: true });

    // Alice has her home open: Bob's post reaches her socket, the last hop of its trace.
    await alice.goto('/');
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    const text = `Traced all the way ${word}`;
    await bob.goto('/');
    await post(bob, text);
    await alice.locator('.post-text', { hasText: text }).waitFor();

    await bob.setViewportSize({ width: 1100, height: 900 }); // the bars show on wider screens
    const response = await bob.goto('/transports');
    const policy = response?.headers()['content-security-policy'] ?? '';
    const notify = new URL(stack.notifyUrl);
    expect(policy).toContain(`connect-src 'self' ${notify.protocol}//${notify.host}`);
    expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    const routes = chirpTransportConfig(stack.env()).services;
    for (const service of ['auth', 'posts', 'follows']) {
      const expected = routes[service]?.transport?.toUpperCase();
      expect(await bob.locator(`tr[data-service="${service}"] .kind`).textContent()).toBe(expected);
    }
    const postTrace = bob.locator('.trace', { has: bob.locator('strong', { hasText: /^post$/ }) }).first();
    const rows = (span: string) => postTrace.locator(`tr[data-span="${span}"]`);
    // The caller's and the handler's span of the call, its query, the event and its delivery, the push.
    expect(await rows('posts/create').count()).toBe(2);
    expect(await rows('INSERT posts').count()).toBe(1);
    expect(await rows('publish post.created').count()).toBe(1);
    expect(await rows('process post.created').count()).toBe(1);
    expect(await rows('push post').count()).toBeGreaterThanOrEqual(1);
    const eventsKind = routes.posts?.events ?? routes.posts?.transport;
    expect(await rows('process post.created').locator('.kind').textContent()).toBe(eventsKind?.toUpperCase());
    expect(await postTrace.locator('[data-split]').textContent()).toMatch(
      /^Request [\d.]+ ms: web [\d.]+ ms · transport [\d.]+ ms \(\d+ hops?\) · handlers [\d.]+ ms · database [\d.]+ ms$/,
    );
    await bob.screenshot({ path: path.join(SCREENSHOTS, `transports-${kind}.png`), fullPage: true });
  });

  it('compares every transport live: one action over each in turn, side by side, and one request of each hop by hop', async () => {
    await bob.goto('/transports');
    const form = bob.getByRole('form', { name: 'Compare the transports' });
    await form.getByLabel('Action').selectOption('home');
    const every = TRANSPORT_KINDS.map((k) => k.toUpperCase()).join(', ');
    await form.getByRole('button', { name: `Compare ${every}`, exact: true }).click();
    const table = bob.getByRole('table', { name: 'Latency by transport' });
    await table.waitFor({ timeout: 60_000 });
    expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')))).toEqual(
      [...TRANSPORT_KINDS],
    );
    for (const each of TRANSPORT_KINDS) {
      const row = table.locator(`tr[data-kind="${each}"]`);
      const runs = await row.locator('[data-runs]').textContent();
      expect(runs, `${each}: every run answered`).toMatch(/^\d+$/);
      expect(Number(runs)).toBeGreaterThanOrEqual(20);
      const p50 = Number((await row.locator('[data-p50]').textContent())?.replace(' ms', ''));
      const p99 = Number((await row.locator('[data-p99]').textContent())?.replace(' ms', ''));
      expect(p50).toBeGreaterThan(0);
      expect(p99).toBeGreaterThanOrEqual(p50);
      const bars = (await row.locator('svg.histogram').getAttribute('data-histogram'))!.split(',').map(Number);
      expect(
        bars.reduce((a, b) => a + b),
        `${each}: the histogram holds every run`,
      ).toBe(Number(runs));

      // One request over it, taken apart: every hop went over this transport, posts → follows included.
      const one = bob.locator(`.compare-traces li[data-kind="${each}"]`);
      expect(await one.locator('summary [data-split]').textContent()).toMatch(
        /^Request [\d.]+ ms: web [\d.]+ ms · transport [\d.]+ ms \(3 hops\) · handlers [\d.]+ ms · database [\d.]+ ms$/,
      );
      await one.locator('summary').click();
      for (const span of ['auth/verify', 'posts/homeTimeline', 'follows/following']) {
        const vias = await one.locator(`tr[data-span="${span}"] .kind`).allTextContents();
        expect(vias, `${span} over ${each}`).toEqual([each.toUpperCase(), each.toUpperCase()]);
      }
    }
    await bob
      .getByRole('region', { name: 'Comparison' })
      .screenshot({ path: path.join(SCREENSHOTS, `compare-${kind}.png`) });
    // The app's own calls still go over TRANSPORT.
    const routes = chirpTransportConfig(stack.env()).services;
    expect(await bob.locator('tr[data-service="posts"] .kind').textContent()).toBe(
      routes.posts?.transport?.toUpperCase(),
    );
  }, 120_000);

  it('reconnects after notify restarts and keeps delivering', async () => {
    await alice.goto('/');
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    const before = stack.notifyUrl;
    await stack.restart('notify');
    // The web app was told where notify is when it started; a restart must not move it.
    expect(stack.notifyUrl, 'notify came back at another address').toBe(before);
    await expect.poll(() => alice.getByTestId('live-status').textContent(), SEE).toBe('Live');
    const text = `Back again ${word}`;
    await bob.goto('/');
    await post(bob, text);
    await alice.locator('.post-text', { hasText: text }).waitFor();
  });

  it('says in words when a service is down, on pages and in forms', async () => {
    // A second web server that looks for posts where nobody answers (over TCP, whatever the
    // others use: <SERVICE>_TRANSPORT routes one service on its own).
    const nowhere = { POSTS_TRANSPORT: 'tcp', POSTS_ADDR: `127.0.0.1:${await freePort()}` };
    const broken = await startWebApp({ ...stack.env(), ...nowhere, REQUEST_TIMEOUT_MS: '1500' });
    try {
      await alice.goto(`${broken.url}/`); // the session cookie is per host, so Alice is still logged in
      const problem = /^The posts service (is not reachable right now|took too long to answer)\. Please try again/;
      const timeline = alice.getByRole('alert').filter({ hasText: 'Cannot show your timeline' });
      await expect.poll(() => timeline.locator('p').textContent(), SEE).toMatch(problem);
      await alice.getByLabel("What's happening?").fill('Will this arrive?');
      await alice.getByRole('button', { name: 'Post', exact: true }).click();
      await expect.poll(() => alice.locator('form').getByRole('alert').textContent(), SEE).toMatch(problem);
    } finally {
      await broken.stop();
    }
  });

  it('ran every page without a script error, a console error or a blocked resource', () => {
    expect(browserErrors).toEqual([]);
  });
});
