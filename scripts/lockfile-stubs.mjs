#!/usr/bin/env node
/**
 * Keeps package-lock.json acceptable to `npm ci` when the registry this project installs
 * from does not serve other platforms' optional binaries (turbo's and Next's darwin/win32
 * builds here). npm then leaves them out of the lockfile, and `npm ci` refuses the lockfile
 * as out of sync with package.json. This adds a stub entry (version, os, cpu, optional) for
 * each missing one: npm ci skips them on this platform, as it would skip the real ones.
 *
 *   node scripts/lockfile-stubs.mjs     (after any `npm install` that changed the lockfile)
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const added = [];

for (const [where, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform) {
      console.warn(
        `lockfile-stubs: ${name} (optional, of ${where}) is missing and its platform is unclear; left alone`,
      );
      continue;
    }
    packages[`node_modules/${name}`] = {
      version,
      dev: entry.dev,
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
    };
    added.push(name);
  }
}

function platformOf(name) {
  const os = /darwin/.test(name)
    ? 'darwin'
    : /win32|windows/.test(name)
      ? 'win32'
      : /linux/.test(name)
        ? 'linux'
        : null;
  const cpu = /arm64/.test(name) ? 'arm64' : /x64|-64\b/.test(name) ? 'x64' : /ia32/.test(name) ? 'ia32' : null;
  return os && cpu ? { os, cpu } : null;
}

if (added.length) {
  lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, 'en')));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`lockfile-stubs: ${added.length ? `added ${added.join(', ')}` : 'nothing missing'}`);
