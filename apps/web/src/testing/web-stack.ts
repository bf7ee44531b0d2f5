/**
 * The whole system as the web tests run it: the back end in this process (tests/src/stack.ts)
 * on one transport and PostgreSQL, the production build of the web app served by its server
 * (dist/server.js) against it, and notify checked to accept the app's pages. Started once per test file.
 */
import { startStack, type Stack, type StackOptions } from '../../../../tests/src/stack.js';
import { assertNotifyAcceptsOrigin, ensureBuilt, startWebApp, type WebApp } from './web-app.js';

export interface WebStack {
  stack: Stack;
  web: WebApp;
  stop(): Promise<void>;
}

/**
 * The build is made first if a source changed (see ensureBuilt); then the stack (with `stackEnv`
 * over its test settings, every service also served on each of `compare`) and the app (with
 * `webEnv`, e.g. WEB_TRUSTED_PROXIES).
 */
export async function startWebStack(
  transport: StackOptions['transport'],
  stackEnv: Record<string, string> = {},
  webEnv: Record<string, string> = {},
  compare: StackOptions['compare'] = [],
) {
  if (await ensureBuilt()) console.log('web: built the app (next build --webpack)');
  const stack = await startStack({ transport, database: 'postgres', env: stackEnv, compare });
  let web: WebApp | undefined;
  const stop = async () => {
    await web?.stop();
    await stack.stop();
  };
  try {
    web = await startWebApp({ ...stack.env(), ...webEnv });
    await assertNotifyAcceptsOrigin(stack.notifyUrl, web.url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stack, web, stop } satisfies WebStack;
}
