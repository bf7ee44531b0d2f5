/**
 * Runs the selected workloads in order and writes the result folder. Each target's server
 * process is started the first time a workload needs it and reused by the next (warm-up
 * covers the switch); all are stopped at the end, whatever happened.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare } from './comparison.js';
import { measureHarness } from './load/harness.js';
import { describeMachine } from './machine.js';
import { Collector } from './process/collector.js';
import { ServerProcess } from './process/server-process.js';
import type { Progress } from './progress.js';
import { writeProfileSummary } from './report/profile-summary.js';
import { writeResults } from './report/write.js';
import type { Sections, SuiteResults } from './results/suite-results.js';
import type { Settings, WorkloadName } from './settings.js';
import { TARGETS, type TargetContext, type TargetName } from './targets/index.js';
import { baselinesWorkload } from './workloads/baselines.js';
import { embeddedWorkload } from './workloads/embedded.js';
import { faultsWorkload } from './workloads/faults.js';
import { notifyWorkload } from './workloads/notify.js';
import { openLoopWorkload } from './workloads/open-loop-workload.js';
import { rpcWorkload } from './workloads/rpc.js';
import { signingWorkload } from './workloads/signing.js';
import { socialWorkload } from './workloads/social.js';
import { telemetryWorkload } from './workloads/telemetry.js';
import type { RunningTarget, SuiteContext, Workload } from './workloads/workload.js';

/** Every workload, in the order a run takes them. */
export const WORKLOADS: { [N in WorkloadName]: Workload<N> } = {
  rpc: rpcWorkload,
  baselines: baselinesWorkload,
  signing: signingWorkload,
  telemetry: telemetryWorkload,
  openloop: openLoopWorkload,
  social: socialWorkload,
  notify: notifyWorkload,
  embedded: embeddedWorkload,
  faults: faultsWorkload,
};

/** bench/results at the repository root (this file is apps/bench/{src,dist}/suite.*). */
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface SuiteOutcome {
  dir: string;
  files: string[];
  results: SuiteResults;
  /** Something was not measured (a server did not start, the broker was down). */
  incomplete: boolean;
}

export async function runSuite(settings: Settings, progress: Progress): Promise<SuiteOutcome> {
  const started = new Date();
  const dir = path.join(settings.outDir ?? DEFAULT_RESULTS_DIR, folderName(started));
  const profileDir = settings.profile ? path.join(dir, 'profiles') : undefined;
  const machine = await describeMachine(settings.amqpUrl);
  const harness = await measureHarness();
  const targetContext: TargetContext = {
    amqpUrl: settings.amqpUrl,
    amqpPrefix: `bench-${randomBytes(4).toString('hex')}`,
    natsUrl: settings.natsUrl,
    timeoutMs: settings.timeoutMs,
  };
  const running = new Map<TargetName, Promise<RunningTarget>>();
  let collector: Promise<Collector> | undefined;
  const context: SuiteContext = {
    settings,
    progress,
    targetContext,
    ...(profileDir !== undefined && { profileDir }),
    baselinesMeasured: new Map(),
    target(name) {
      let target = running.get(name);
      if (target === undefined) {
        target = startTarget(name, targetContext, profileDir);
        running.set(name, target);
      }
      return target;
    },
    async release(name) {
      const target = running.get(name);
      running.delete(name);
      if (target !== undefined) await stopTarget(target);
    },
    collector() {
      collector ??= Collector.start().then((started) => {
        targetContext.otlpEndpoint = started.endpoint;
        return started;
      });
      return collector;
    },
  };
  const sections: Partial<Sections> = {};
  try {
    for (const name of settings.workloads) {
      progress.section(WORKLOADS[name].title);
      await runWorkload(WORKLOADS[name], context, sections);
    }
  } finally {
    await Promise.all([...running.values()].map(stopTarget));
    await (await collector?.catch(() => undefined))?.stop();
  }
  const results: SuiteResults = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    harness,
    settings: { ...settings, amqpUrl: withoutPassword(settings.amqpUrl) },
    sections,
    comparison: compare(settings, sections.rpc, sections.baselines),
  };
  const files = await writeResults(dir, results);
  const profiles = profileDir === undefined ? undefined : await writeProfileSummary(profileDir);
  if (profiles !== undefined) files.push(profiles);
  return { dir, files, results, incomplete: isIncomplete(sections) };
}

/** Rewrite report.md and the charts of an earlier run from its results.json (after the report code changed). */
export async function rerender(dir: string): Promise<string[]> {
  const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as SuiteResults;
  return writeResults(dir, results);
}

async function runWorkload<N extends WorkloadName>(
  workload: Workload<N>,
  context: SuiteContext,
  sections: Partial<Sections>,
): Promise<void> {
  sections[workload.name] = await workload.run(context);
}

async function startTarget(name: TargetName, context: TargetContext, profileDir?: string): Promise<RunningTarget> {
  const server = await ServerProcess.start(name, context, profileDir);
  try {
    return { server, caller: await TARGETS[name].connect(server.address, context) };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function stopTarget(started: Promise<RunningTarget>): Promise<void> {
  const target = await started.catch(() => undefined);
  if (target === undefined) return;
  await target.caller.close().catch(() => {});
  await target.server.stop();
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'unparseable URL';
  }
}

/** `2025-11-23T11-49-07Z`: an ISO timestamp that is a valid folder name everywhere. */
export function folderName(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

function isIncomplete(sections: Partial<Sections>): boolean {
  const targets = [
    ...(sections.rpc?.targets ?? []),
    ...(sections.baselines?.targets ?? []),
    ...(sections.openloop?.targets ?? []),
  ];
  if (Object.keys(sections.telemetry?.errors ?? {}).length > 0) return true;
  const stacks = [
    ...(sections.social?.targets ?? []),
    ...(sections.notify?.targets ?? []),
    ...(sections.faults?.transports ?? []),
  ];
  return [...targets, ...stacks].some((t) => t.error !== undefined);
}
