/**
 * The shape of results.json's telemetry section: each transport's small call with telemetry
 * off, with only the context manager on, and on with no call, one call in a hundred (exported or
 * not) and every call traced; then the social mix with telemetry off and on (workloads/telemetry-social.ts).
 */
import type { TransportKind } from '@chirp/transport';
import type { Repeated } from '../load/run.js';
import { TRACING_MODES, type TracingMode } from '../targets/target.js';

/** Off, or on as one of the traced targets runs. */
export type TelemetryMode = 'off' | TracingMode;
/** Every mode, in the order the workload runs them and the report lists them. */
export const TELEMETRY_MODES = ['off', ...TRACING_MODES] as const satisfies readonly TelemetryMode[];

export interface TelemetryCase extends Repeated {
  transport: TransportKind;
  mode: TelemetryMode;
  concurrency: number;
  /** The span collector's CPU, % of one core, over each repetition's run (warm-up included); absent in older results. */
  collectorCpu?: number[];
}

/** The whole application's stacks: every process with telemetry off, or on as a deployment runs it. */
export type SocialTelemetryMode = 'off' | 'sampled';

export interface SocialTelemetryCase extends Repeated {
  transport: TransportKind;
  mode: SocialTelemetryMode;
}

export interface TelemetrySection {
  payloadBytes: number;
  cases: TelemetryCase[];
  /** Spans the collector received during the section (what the traced modes exported). */
  spansExported: number;
  errors: Partial<Record<TransportKind, string>>;
  /** The social mix through the web API with telemetry off and on (workloads/telemetry-social.ts); absent in older results. */
  social?: {
    concurrency: number;
    sampleEvery: number;
    cases: SocialTelemetryCase[];
    errors: Partial<Record<TransportKind, string>>;
  };
}
