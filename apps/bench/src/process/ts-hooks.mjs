/**
 * Module hooks for ts-loader.mjs: a `./x.js` import from a .ts file finds `./x.ts` (sources
 * import by their built names), and .ts files are transpiled, one at a time, type-free.
 * Output is cached in the temp folder by content hash, so the second server process
 * started from source neither transpiles nor loads the compiler.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const CACHE = path.join(os.tmpdir(), 'chirp-bench-ts-cache');
let typescript;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const fromTs = context.parentURL?.endsWith('.ts');
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && fromTs && specifier.endsWith('.js')) {
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
    throw err;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const cached = path.join(CACHE, `${createHash('sha1').update(url).update(source).digest('hex')}.js`);
  const hit = await readFile(cached, 'utf8').catch(() => undefined);
  if (hit !== undefined) return { format: 'module', source: hit, shortCircuit: true };
  typescript ??= (await import('typescript')).default;
  const { outputText } = typescript.transpileModule(source, {
    fileName: url,
    compilerOptions: {
      module: typescript.ModuleKind.ESNext,
      target: typescript.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  });
  await mkdir(CACHE, { recursive: true });
  await writeFile(`${cached}.${process.pid}`, outputText);
  await rename(`${cached}.${process.pid}`, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
