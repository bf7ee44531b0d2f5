/** The posts process: config from the environment, then the runtime's life (see @chirp/service-runtime). */
import { runService, runtimeConfigFromEnv } from '@chirp/service-runtime';
import { postsConfigFromEnv } from './config.js';
import { startPosts } from './start.js';

try {
  await runService(runtimeConfigFromEnv('posts', process.env), startPosts(postsConfigFromEnv(process.env)), {
    handleSignals: true,
  });
} catch (err) {
  process.stderr.write(`posts: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
