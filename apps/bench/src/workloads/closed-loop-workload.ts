/**
 * The closed-loop measurement the RPC and baseline workloads share: every call case
 * (verify, and echo at each payload size) at every concurrency level, on each target,
 * repeated. Repetitions are the outer loop — rep 1 of every case, then rep 2 — so the
 * spread between them includes drift over minutes, not just noise over seconds.
 */
import { closedLoop } from '../load/closed-loop.js';
import { fixedRequest, summarise, type Repeated, type RunFigures } from '../load/run.js';
import { bytes, ms, percent, rate } from '../report/format.js';
import type { Settings } from '../settings.js';
import { TARGETS, VERIFY_REQUEST, echoPayload, type CallName, type TargetName } from '../targets/index.js';
import type { SuiteContext } from './workload.js';

export interface CallCase {
  call: CallName;
  /** Size of the request payload's JSON. */
  payloadBytes: number;
  label: string;
}

export interface CaseResult extends Repeated {
  call: CallName;
  payloadBytes: number;
  concurrency: number;
  label: string;
}

export interface TargetResult {
  target: TargetName;
  description: string;
  cases: CaseResult[];
  /** Why the target was not (fully) measured, e.g. its server did not start. */
  error?: string;
}

export interface ClosedLoopSection {
  targets: TargetResult[];
}

export function callCases(settings: Settings): CallCase[] {
  const verifyBytes = JSON.stringify(VERIFY_REQUEST).length;
  return [
    { call: 'verify', payloadBytes: verifyBytes, label: 'verify' },
    ...settings.payloadBytes.map((n) => ({ call: 'echo' as const, payloadBytes: n, label: `echo ${bytes(n)}` })),
  ];
}

function payloadOf(c: CallCase): unknown {
  return c.call === 'verify' ? VERIFY_REQUEST : echoPayload(c.payloadBytes);
}

/** Find one case's result: `call` and size, at `concurrency`. */
export function findCase(
  target: TargetResult | undefined,
  call: CallName,
  payloadBytes: number | undefined,
  concurrency: number,
): CaseResult | undefined {
  return target?.cases.find(
    (c) =>
      c.call === call &&
      c.concurrency === concurrency &&
      (payloadBytes === undefined || c.payloadBytes === payloadBytes),
  );
}

export async function measureClosedLoop(
  context: SuiteContext,
  workload: string,
  targets: TargetName[],
): Promise<ClosedLoopSection> {
  const { settings, progress } = context;
  const cases = callCases(settings);
  const section: ClosedLoopSection = { targets: [] };
  for (const name of targets) {
    const result: TargetResult = { target: name, description: TARGETS[name].description, cases: [] };
    section.targets.push(result);
    const runs = new Map<string, { c: CallCase; concurrency: number; runs: RunFigures[] }>();
    try {
      const { server, caller } = await context.target(name);
      for (let rep = 1; rep <= settings.repetitions; rep++) {
        for (const c of cases) {
          for (const concurrency of settings.concurrency) {
            const figures = await closedLoop(fixedRequest(caller, c.call, payloadOf(c)), server, {
              concurrency,
              warmupMs: settings.warmupMs,
              durationMs: settings.durationMs,
            });
            const key = `${c.label} c=${concurrency}`;
            const entry = runs.get(key) ?? { c, concurrency, runs: [] };
            entry.runs.push(figures);
            runs.set(key, entry);
            const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
            progress.line(`${workload} ${name.padEnd(7)} ${key.padEnd(20)}${reps}  ${describeRun(figures)}`);
          }
        }
      }
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      progress.line(`${workload} ${name}: FAILED: ${result.error}`);
    }
    for (const { c, concurrency, runs: r } of runs.values()) {
      result.cases.push({ call: c.call, payloadBytes: c.payloadBytes, concurrency, label: c.label, ...summarise(r) });
    }
  }
  return section;
}

export function describeRun(f: RunFigures): string {
  return [
    `${rate(f.throughput).padStart(7)} req/s`,
    `p50 ${ms(f.p50)} ms`,
    `p99 ${ms(f.p99)} ms`,
    `err ${f.errors}`,
    `cpu client ${percent(f.clientCpu)} server ${percent(f.serverCpu)}`,
    `µs/call ${Math.round(f.clientCpuPerCall)}+${Math.round(f.serverCpuPerCall)}`,
  ].join('  ');
}
