/**
 * Open loop: the 64 B echo offered at Poisson arrival rates, on each transport and its
 * baseline, to find the highest rate whose p99 (measured from each call's intended send
 * time) stays under the limit with no errors — the max sustainable rate.
 *
 * The search doubles the rate from the start rate while it holds (halves it while it does
 * not), then bisects geometrically between the last rate that held and the first that did
 * not: with 3 bisections the answer is within 2^(1/8) ≈ 9% of the true limit. A rate that
 * fails is run again, and fails only if it fails twice.
 */
import { openLoop, type OpenLoopFigures } from '../load/open-loop.js';
import { fixedRequest } from '../load/run.js';
import { rate } from '../report/format.js';
import type { OpenLoopSection, OpenLoopTarget } from '../results/open-loop.js';
import type { OpenLoopSettings } from '../settings.js';
import { BASELINE_OF, echoPayload, type TargetName } from '../targets/index.js';
import { describeRun } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

export const OPEN_LOOP_PAYLOAD_BYTES = 64;

/** Why a step fails, or undefined if the rate held. */
export function failure(step: OpenLoopFigures, p99LimitMs: number): string | undefined {
  if (step.errors > 0) return `${step.errors} errors at ${rate(step.rate)}/s`;
  if (step.count === 0) return `no call answered at ${rate(step.rate)}/s`;
  if (step.p99 > p99LimitMs) return `p99 ${step.p99.toFixed(2)} ms > ${p99LimitMs} ms at ${rate(step.rate)}/s`;
  return undefined;
}

/**
 * The highest rate `holds` accepts, searched as described above; `holds` runs one step.
 * Returns null when not even the lowest rate tried held.
 */
export async function searchMaxRate(
  s: OpenLoopSettings,
  holds: (rate: number) => Promise<boolean>,
): Promise<number | null> {
  if (s.rates !== null) {
    let best: number | null = null;
    for (const r of s.rates) {
      if (!(await holds(r))) break;
      best = r;
    }
    return best;
  }
  let held: number | null = null;
  let failed: number | null = null;
  let r = s.startRate;
  if (await holds(r)) {
    held = r;
    for (r *= s.stepFactor; r <= s.maxRate; r *= s.stepFactor) {
      if (!(await holds(Math.round(r)))) {
        failed = Math.round(r);
        break;
      }
      held = Math.round(r);
    }
  } else {
    failed = r;
    for (r /= s.stepFactor; r >= s.minRate; r /= s.stepFactor) {
      if (await holds(Math.round(r))) {
        held = Math.round(r);
        break;
      }
      failed = Math.round(r);
    }
  }
  for (let i = 0; i < s.refinements && held !== null && failed !== null; i++) {
    const mid = Math.round(Math.sqrt(held * failed));
    if (mid === held || mid === failed) break;
    if (await holds(mid)) held = mid;
    else failed = mid;
  }
  return held;
}

/**
 * searchMaxRate's `holds` from a step that says why a rate failed: a rate fails only if it
 * fails twice in a row — one hiccup of a shared machine (a GC pause, another process) must
 * not decide the answer. The second failure's reason is kept in `failures`, by rate.
 */
export function failsOnlyTwice(
  step: (rate: number) => Promise<string | undefined>,
  failures: Map<number, string>,
): (rate: number) => Promise<boolean> {
  return async (offered) => {
    if ((await step(offered)) === undefined) return true;
    const again = await step(offered);
    if (again !== undefined) failures.set(offered, again);
    return again === undefined;
  };
}

/** Why a search stopped: how the lowest failing rate failed. */
export function stoppedBecause(failures: Map<number, string>): string {
  const lowest = [...failures.keys()].sort((a, b) => a - b)[0];
  return lowest === undefined ? 'held at every rate tried' : (failures.get(lowest) ?? '');
}

export const openLoopWorkload: Workload<'openloop'> = {
  name: 'openloop',
  title: 'Open loop (max sustainable rate)',
  async run(context) {
    const { settings, progress } = context;
    const limit = settings.openLoop.p99LimitMs;
    const names = settings.transports.flatMap((t): TargetName[] => [t, BASELINE_OF[t]]);
    const section: OpenLoopSection = { payloadBytes: OPEN_LOOP_PAYLOAD_BYTES, p99LimitMs: limit, targets: [] };
    for (const name of names) {
      const result: OpenLoopTarget = { target: name, steps: [], maxSustainableRate: null, stoppedBecause: '' };
      section.targets.push(result);
      const failures = new Map<number, string>();
      try {
        const { server, caller } = await context.target(name);
        /** One step at `offered`: why it failed, or undefined if it held. */
        const step = async (offered: number): Promise<string | undefined> => {
          const figures = await openLoop(fixedRequest(caller, 'echo', echoPayload(OPEN_LOOP_PAYLOAD_BYTES)), server, {
            rate: offered,
            warmupMs: settings.warmupMs,
            durationMs: settings.durationMs,
            maxOutstanding: settings.openLoop.maxOutstanding,
          });
          result.steps.push(figures);
          progress.line(`open ${name.padEnd(7)} ${rate(offered).padStart(7)}/s offered  ${describeRun(figures)}`);
          return failure(figures, limit);
        };
        result.maxSustainableRate = await searchMaxRate(settings.openLoop, failsOnlyTwice(step, failures));
        result.stoppedBecause = stoppedBecause(failures);
      } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
        result.stoppedBecause = 'failed';
        progress.line(`open ${name}: FAILED: ${result.error}`);
      }
    }
    return section;
  },
};
