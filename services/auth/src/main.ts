/** The auth service process (see serviceMain in @chirp/service-runtime). */
import { serviceMain } from '@chirp/service-runtime';
import { authConfigFromEnv } from './config.js';
import { startAuth } from './start.js';

await serviceMain('auth', (env) => startAuth(authConfigFromEnv(env)));
