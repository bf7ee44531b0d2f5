/**
 * The README's screenshots (docs/screenshots/): home, a profile, search and the Transports page,
 * at desktop and phone widths, and a comparison of the transports on the Transports page, of a small seeded network on TCP, in Debian's Chromium. Not part
 * of `npm test`: after changing how a page looks,
 *
 *   UPDATE_SCREENSHOTS=1 npx vitest run apps/web/src/screenshots.test.ts
 */
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { TRANSPORT_KINDS } from '@chirp/transport';
import { apiClient } from './testing/api-client.js';
import { WEB_DIR } from './testing/web-app.js';
import { startWebStack, type WebStack } from './testing/web-stack.js';

const OUT = path.join(WEB_DIR, '..', '..', 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery';
const VIEWPORTS = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } };

const PEOPLE = [
  { username: 'ada', displayName: 'Ada Lovelace', bio: 'Notes on the Analytical Engine. Poetical science.' },
  { username: 'grace', displayName: 'Grace Hopper', bio: 'It is easier to ask forgiveness than permission.' },
  { username: 'linus', displayName: '', bio: '' },
  { username: 'margaret', displayName: 'Margaret Hamilton', bio: 'Software engineering, before it had a name.' },
];
const POSTS: Array<[string, string]> = [
  ['grace', 'Found an actual moth in relay 70 of the Mark II. First actual case of bug being found. 🐛'],
  ['margaret', 'The priority displays worked: the computer dropped the low-priority jobs and landed us. 🌙'],
  ['linus', 'Talk is cheap. Show me the code.'],
  ['grace', 'A ship in port is safe, but that is not what ships are built for. Try the compiler.'],
  ['margaret', 'Every message over TCP here is framed and signed. Which transport is fastest? See the bench.'],
];

describe.skipIf(!process.env.UPDATE_SCREENSHOTS)('screenshots for the README', () => {
  let system: WebStack;

  beforeAll(async () => {
    system = await startWebStack('tcp', {}, {}, [...TRANSPORT_KINDS]);
    const { stack } = system;
    const ids: Record<string, string> = {};
    for (const person of PEOPLE) {
      const { user } = await stack.auth.signUp({ username: person.username, password: PASSWORD });
      ids[person.username] = user.id;
      await stack.auth.updateProfile({ userId: user.id, displayName: person.displayName, bio: person.bio });
    }
    for (const [follower, followee] of [
      ['grace', 'margaret'],
      ['linus', 'grace'],
      ['margaret', 'grace'],
      ['linus', 'margaret'],
    ] as const) {
      await stack.follows.follow({ followerId: ids[follower]!, followeeId: ids[followee]! });
    }
    for (const [author, text] of POSTS) {
      await stack.posts.create({ authorId: ids[author]!, authorUsername: author, text });
    }
  }, 300_000);

  afterAll(() => system?.stop(), 60_000);

  it('takes them', async () => {
    const api = apiClient(system.web.url);
    // Ada's own actions go through the web app, so the Transports page has her traces to show.
    const { token } = (await api('POST', '/api/login', { body: { username: 'ada', password: PASSWORD } })).body;
    for (const name of ['grace', 'margaret']) await api('PUT', `/api/follows/${name}`, { token });
    await api('POST', '/api/posts', {
      token,
      body: { text: 'That brain of mine is something more than merely mortal.' },
    });
    await api('GET', '/api/timeline', { token });

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
    try {
      for (const [width, viewport] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext({ viewport, baseURL: system.web.url, deviceScaleFactor: 1 });
        await context.addCookies([{ name: 'chirp_session', value: token, url: system.web.url }]);
        const page = await context.newPage();
        const shots: Array<[string, string]> = [
          ['home', '/'],
          ['profile', '/u/grace'],
          ['search', '/search?q=compiler'],
          ['transports', '/transports'],
        ];
        for (const [name, url] of shots) {
          await page.goto(url);
          await page.waitForLoadState('networkidle');
          if (name === 'home') await page.getByTestId('live-status').getByText('Live').waitFor();
          await page.screenshot({ path: path.join(OUT, `${name}-${width}.png`), animations: 'disabled' });
        }
        if (width === 'desktop') {
          await page.getByRole('button', { name: /^Compare / }).click();
          const comparison = page.getByRole('region', { name: 'Comparison' });
          await comparison.waitFor({ timeout: 60_000 });
          await comparison.screenshot({ path: path.join(OUT, 'compare-desktop.png'), animations: 'disabled' });
        }
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 120_000);
});
