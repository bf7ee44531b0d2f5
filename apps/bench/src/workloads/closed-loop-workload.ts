/**
 * The closed-loop measurement the RPC and baseline workloads share: every call case
 * (verify, and echo at each payload size) at every concurrency level, on each target,
 * repeated. Repetitions are the outer loop — rep 1 of every case, then rep 2 — so the
 * spread between them includes drift over minutes, not just noise over seconds.
 */
import { closedLoop } from '../load/closed-loop.js';
import { fixedRequest, summarise, type RunFigures } from '../load/run.js';
import { bytes, ms, percent, rate } from '../report/format.js';
import type { TargetResult } from '../results/closed-loop.js';
import type { Settings } from '../settings.js';
import { TARGETS, VERIFY_REQUEST, echoPayload, isBaseline, type CallName, type TargetName } from '../targets/index.js';
import type { RunningTarget, SuiteContext } from './workload.js';

export interface CallCase {
  call: CallName;
  /** Size of the request payload's JSON. */
  payloadBytes: number;
  label: string;
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

/**
 * Measure every target of every group. The targets of one group take turns case by case — a
 * transport and its baseline each run a case seconds apart, first one then the other, the order
 * flipped every repetition — so a machine whose speed drifts over minutes (these do, up to 2×)
 * moves both alike and their ratio stays true. Measured one after the other, a transport and its
 * baseline were minutes apart, and a ratio could be off by a third.
 */
export async function measureClosedLoop(
  context: SuiteContext,
  workload: string,
  groups: TargetName[][],
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  for (const group of groups) results.push(...(await measureInTurns(context, workload, group)));
  return results;
}

interface Turn {
  result: TargetResult;
  /** Undefined once the target failed: it takes no more turns. */
  running: RunningTarget | undefined;
  runs: Map<string, { c: CallCase; concurrency: number; runs: RunFigures[] }>;
}

async function measureInTurns(context: SuiteContext, workload: string, names: TargetName[]): Promise<TargetResult[]> {
  const { settings, progress } = context;
  const turns: Turn[] = [];
  const fail = (turn: Turn, err: unknown): void => {
    turn.running = undefined;
    turn.result.error = err instanceof Error ? err.message : String(err);
    progress.line(`${workload} ${turn.result.target}: FAILED: ${turn.result.error}`);
  };
  for (const name of names) {
    const turn: Turn = {
      result: { target: name, description: TARGETS[name].description, cases: [] },
      running: undefined,
      runs: new Map(),
    };
    turns.push(turn);
    try {
      turn.running = await context.target(name);
    } catch (err) {
      fail(turn, err);
    }
  }
  for (let rep = 1; rep <= settings.repetitions; rep++) {
    const order = rep % 2 === 1 ? turns : [...turns].reverse();
    for (const c of callCases(settings)) {
      for (const concurrency of settings.concurrency) {
        for (const turn of order) {
          if (turn.running === undefined) continue;
          const { server, caller } = turn.running;
          try {
            const figures = await closedLoop(fixedRequest(caller, c.call, payloadOf(c)), server, {
              concurrency,
              warmupMs: settings.warmupMs,
              durationMs: settings.durationMs,
            });
            const key = `${c.label} c=${concurrency}`;
            const entry = turn.runs.get(key) ?? { c, concurrency, runs: [] };
            entry.runs.push(figures);
            turn.runs.set(key, entry);
            const reps = settings.repetitions > 1 ? ` rep ${rep}/${settings.repetitions}` : '';
            const label = isBaseline(turn.result.target) ? 'base' : workload;
            progress.line(`${label} ${turn.result.target.padEnd(7)} ${key.padEnd(20)}${reps}  ${describeRun(figures)}`);
          } catch (err) {
            fail(turn, err);
          }
        }
      }
    }
  }
  return turns.map(({ result, runs }) => {
    for (const { c, concurrency, runs: r } of runs.values()) {
      result.cases.push({ call: c.call, payloadBytes: c.payloadBytes, concurrency, label: c.label, ...summarise(r) });
    }
    return result;
  });
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
