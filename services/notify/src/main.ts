/** The notify service process (see serviceMain in @chirp/service-runtime). */
import { serviceMain } from '@chirp/service-runtime';
import { notifyConfigFromEnv } from './config.js';
import { startNotify } from './start.js';

await serviceMain('notify', (env) => startNotify(notifyConfigFromEnv(env)));
