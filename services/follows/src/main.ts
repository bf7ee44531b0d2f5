/** The follows service process (see serviceMain in @chirp/service-runtime). */
import { serviceMain } from '@chirp/service-runtime';
import { followsConfigFromEnv } from './config.js';
import { startFollows } from './start.js';

await serviceMain('follows', (env) => startFollows(followsConfigFromEnv(env)));
