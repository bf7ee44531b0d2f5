/** The posts service process (see serviceMain in @chirp/service-runtime). */
import { serviceMain } from '@chirp/service-runtime';
import { postsConfigFromEnv } from './config.js';
import { startPosts } from './start.js';

await serviceMain('posts', (env) => startPosts(postsConfigFromEnv(env)));
