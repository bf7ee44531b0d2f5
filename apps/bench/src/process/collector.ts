/**
 * The load generator's handle on the span collector (collector-child.ts): its OTLP endpoint,
 * for every traced process's OTEL_EXPORTER_OTLP_ENDPOINT, and the spans of chosen traces.
 */
import type { ChildProcess } from 'node:child_process';
import type { SpanRecord } from '@chirp/telemetry';
import { forkChild } from './fork.js';
import { processTreeCpu } from '../stack/process-cpu.js';
import type { CpuReading, FromCollector, ToCollector } from './messages.js';

const READY_TIMEOUT_MS = 30_000;

export class Collector {
  readonly endpoint: string;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (answer: { spans: SpanRecord[]; received: number }) => void>();
  #nextId = 1;

  private constructor(endpoint: string, child: ChildProcess) {
    this.endpoint = endpoint;
    this.#child = child;
    child.on('message', (message: FromCollector) => {
      if (message.type !== 'spans') return;
      this.#waiting.get(message.id)?.(message);
      this.#waiting.delete(message.id);
    });
  }

  static async start(): Promise<Collector> {
    const child = forkChild('collector-child');
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the span collector did not start')), READY_TIMEOUT_MS);
      child.once('message', (message: FromCollector) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message.endpoint);
      });
      child.once('exit', (code) => reject(new Error(`the span collector exited (code ${code})`)));
    });
    child.removeAllListeners('exit');
    return new Collector(endpoint, child);
  }

  /** The spans received so far of these traces, and how many spans were received in all. */
  spansOf(traceIds: string[]): Promise<{ spans: SpanRecord[]; received: number }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (!this.#child.connected) return reject(new Error('the span collector is gone'));
      this.#waiting.set(id, resolve);
      this.#child.send({ type: 'spans', id, traceIds } satisfies ToCollector);
    });
  }

  /**
   * The collector's CPU time so far (undefined where /proc cannot tell): it shares the machine
   * with the processes measured.
   */
  cpu(): CpuReading | undefined {
    return this.#child.pid === undefined ? undefined : processTreeCpu(this.#child.pid);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' } satisfies ToCollector);
    await exited;
  }
}
