/**
 * Where per-call metrics come from, without this package depending on a metrics library: a
 * process that keeps metrics (every service, the web app; see @chirp/telemetry) registers one
 * observer, and every transport reports each call and event to it from the shared points in
 * tracing.ts. One per process, kept on globalThis like OpenTelemetry's own registrations: a
 * bundler may load this module more than once (Next.js does, per route bundle), and every copy
 * must report to the same observer.
 */
import type { TransportKind } from './transport.js';

export interface CallObserver {
  /** A call ended, seen from one side, with its result code; `startedAt` is performance.now() at its start. */
  call(
    side: 'client' | 'server',
    transport: TransportKind,
    service: string,
    method: string,
    code: string,
    startedAt: number,
  ): void;
  /** An event was published, or delivered to one handler, with its result code. */
  event(side: 'publish' | 'deliver', transport: TransportKind, service: string, topic: string, code: string): void;
}

const SLOT = Symbol.for('chirp.transport.callObserver');
const holder = globalThis as typeof globalThis & { [SLOT]?: CallObserver };

/** Report every call and event of this process to `observer` (undefined: stop). */
export function observeCalls(observer: CallObserver | undefined): void {
  holder[SLOT] = observer;
}

export function callObserver(): CallObserver | undefined {
  return holder[SLOT];
}
