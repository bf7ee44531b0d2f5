import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Fork one of this folder's child processes (`server-child`, `collector-child`). Built code
 * forks the built child; run from TypeScript sources (the tests), the child runs from its
 * source too, through ts-loader.mjs.
 */
export function forkChild(name: 'server-child' | 'collector-child', extraArgv: string[] = []): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const execArgv = fromSource
    ? ['--conditions=source', '--import', new URL('./ts-loader.mjs', import.meta.url).href]
    : [];
  return fork(entry, [], { execArgv: [...execArgv, ...extraArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
