/**
 * A run's figures broken down by kind of call, for a request mix (home timeline, post, …):
 * one HDR histogram and error count per kind, next to the run's overall ones.
 */
import { LatencyRecorder, type LatencySummary } from './latency.js';

export interface KindFigures extends LatencySummary {
  /** Successful calls of this kind per second of the measured window. */
  throughput: number;
  errors: number;
  errorCodes: Record<string, number>;
}

export class ByKind {
  readonly #kinds = new Map<
    string,
    { recorder: LatencyRecorder; errors: number; errorCodes: Record<string, number> }
  >();

  #of(kind: string) {
    let entry = this.#kinds.get(kind);
    if (entry === undefined) {
      entry = { recorder: new LatencyRecorder(), errors: 0, errorCodes: {} };
      this.#kinds.set(kind, entry);
    }
    return entry;
  }

  record(kind: string, ms: number): void {
    this.#of(kind).recorder.record(ms);
  }

  fail(kind: string, code: string): void {
    const entry = this.#of(kind);
    entry.errors++;
    entry.errorCodes[code] = (entry.errorCodes[code] ?? 0) + 1;
  }

  /** Every kind's figures over a window of `durationMs`; releases the histograms. */
  summary(durationMs: number): Record<string, KindFigures> {
    const figures: Record<string, KindFigures> = {};
    for (const [kind, { recorder, errors, errorCodes }] of [...this.#kinds].sort(([a], [b]) => a.localeCompare(b))) {
      const latency = recorder.summary();
      recorder.destroy();
      figures[kind] = { ...latency, throughput: latency.count / (durationMs / 1000), errors, errorCodes };
    }
    return figures;
  }
}
