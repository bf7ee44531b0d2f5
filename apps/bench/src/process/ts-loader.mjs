/**
 * For running the bench from its TypeScript sources (the tests): `node --conditions=source
 * --import ./ts-loader.mjs server-child.ts`. Node 20 cannot run TypeScript itself; these
 * hooks (ts-hooks.mjs) strip the types with the repo's own `typescript` as files load.
 * Built code (dist/) never uses this.
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
