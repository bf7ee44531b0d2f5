/**
 * Services as real child processes, for the tests that need what only a process boundary
 * gives: a command and an environment as production would start them, a SIGKILL with work in
 * flight, a restart on the same addresses. Output is kept (the last few KiB) for failure
 * messages, and read line by line by tests that watch what a process says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { eventually } from '@chirp/transport/testing';

export const ROOT = new URL('../../', import.meta.url);

/** How much of a process's output is kept for failure messages. */
const LOG_TAIL_CHARS = 4_000;

export interface ProcessSpec {
  name: string;
  /** argv, run from the repository root; a built script (`npm run build` makes it). */
  command: string[];
  env: Record<string, string>;
  /** Ready once GET /readyz on this loopback port answers 200, or once stdout prints this line. */
  ready: { adminPort: number } | { line: string };
}

export class ServiceProcess {
  readonly spec: ProcessSpec;
  /** Called for every line the process prints on stdout. */
  onLine: (line: string) => void = () => {};
  /** Called when the process ends without kill() or stop() asking it to: a crash. */
  onCrash: (signal: NodeJS.Signals | null) => void = () => {};
  #child: ChildProcess | undefined;
  #log = '';
  #ending = false;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The end of what the process printed, stdout and stderr interleaved. */
  get log(): string {
    return this.#log;
  }

  /** Spawn the process and wait until it is ready; fails with its output if it exits first. */
  async start(timeoutMs = 60_000): Promise<void> {
    const [program, ...args] = this.spec.command;
    if (args[0] !== undefined && args[0].endsWith('.js') && !existsSync(new URL(args[0], ROOT))) {
      throw new Error(`${args[0]} is missing: run \`npm run build\` first`);
    }
    const child = spawn(program!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#ending = false;
    let sawReadyLine = false;
    const readyLine = 'line' in this.spec.ready ? this.spec.ready.line : undefined;
    const keep = (chunk: Buffer): void => {
      this.#log = (this.#log + String(chunk)).slice(-LOG_TAIL_CHARS);
    };
    child.stderr!.on('data', keep);
    child.stdout!.on('data', keep);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === readyLine) sawReadyLine = true;
      this.onLine(line);
    });
    child.once('exit', (_code, signal) => {
      if (!this.#ending && this.#child === child) this.onCrash(signal);
    });
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${this.spec.name} exited while starting: ${this.#log}`);
        }
        if ('adminPort' in this.spec.ready) {
          const res = await fetch(`http://127.0.0.1:${this.spec.ready.adminPort}/readyz`);
          if (res.status !== 200) throw new Error(`${this.spec.name} not ready: /readyz ${res.status}`);
        } else if (!sawReadyLine) {
          throw new Error(`${this.spec.name} has not printed "${readyLine}": ${this.#log}`);
        }
      },
      timeoutMs,
      50,
    );
  }

  /** Send `signal` (SIGKILL by default: no goodbye) and wait for the process to end; resolves its exit code. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    this.#ending = true;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** A graceful stop: SIGTERM, and the exit code (0 when the service shut down cleanly). */
  stop(): Promise<number | null> {
    return this.kill('SIGTERM');
  }
}
