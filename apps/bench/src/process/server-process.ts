/**
 * The load generator's handle on a server process: fork `server-child`, have it serve one
 * target, read its CPU time during a run, stop it.
 */
import type { ChildProcess } from 'node:child_process';
import type { TargetContext, TargetName } from '../targets/target.js';
import { forkChild } from './fork.js';
import type { CpuReading, FromServer, ToServer } from './messages.js';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export class ServerProcess {
  readonly target: TargetName;
  readonly address: string;
  readonly #child: ChildProcess;
  readonly #cpuWaiters = new Map<number, { resolve: (reading: CpuReading) => void; reject: (err: Error) => void }>();
  #nextId = 1;

  private constructor(target: TargetName, address: string, child: ChildProcess) {
    this.target = target;
    this.address = address;
    this.#child = child;
    child.on('message', (message: FromServer) => {
      if (message.type !== 'cpu') return;
      this.#cpuWaiters.get(message.id)?.resolve(message.reading);
      this.#cpuWaiters.delete(message.id);
    });
    child.on('exit', (code, signal) => {
      const error = new Error(`the ${target} server process exited (${signal ?? `code ${code}`})`);
      for (const waiter of this.#cpuWaiters.values()) waiter.reject(error);
      this.#cpuWaiters.clear();
    });
  }

  /** Fork a server process for `target`; with `profileDir`, it runs under `node --cpu-prof`. */
  static async start(target: TargetName, context: TargetContext, profileDir?: string): Promise<ServerProcess> {
    const profile = profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${target}.cpuprofile`]
      : [];
    const child = forkChild('server-child', profile);
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the ${target} server process was not ready within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      child.on('message', (message: FromServer) => {
        if (message.type === 'ready') resolve(message.address);
        if (message.type === 'failed') reject(new Error(`the ${target} server could not start: ${message.message}`));
        if (message.type === 'ready' || message.type === 'failed') clearTimeout(timer);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ${target} server process exited (code ${code}) before it was ready`));
      });
      child.send({ type: 'serve', target, context } satisfies ToServer);
    });
    child.removeAllListeners('message');
    child.removeAllListeners('exit');
    return new ServerProcess(target, address, child);
  }

  /** The server process's CPU time now. */
  cpu(): Promise<CpuReading> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (!this.#child.connected) return reject(new Error(`the ${this.target} server process is gone`));
      this.#cpuWaiters.set(id, { resolve, reject });
      this.#child.send({ type: 'cpu', id } satisfies ToServer);
    });
  }

  /** Close the target gracefully, then make sure the process is gone. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    if (this.#child.connected) this.#child.send({ type: 'stop' } satisfies ToServer);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
