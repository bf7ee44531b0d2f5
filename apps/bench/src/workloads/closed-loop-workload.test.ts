import { describe, expect, it } from 'vitest';
import { readCpu } from '../process/messages.js';
import type { ServerProcess } from '../process/server-process.js';
import { defaultSettings, type Settings } from '../settings.js';
import type { TargetName } from '../targets/index.js';
import { baselinesWorkload } from './baselines.js';
import { rpcWorkload } from './rpc.js';
import type { SuiteContext } from './workload.js';

/**
 * The order of measurement, with callers that answer at once: what is measured is the bench's
 * own scheduling, which no real server can show more plainly.
 */
function fakeContext(settings: Settings): { context: SuiteContext; lines: string[]; started: TargetName[] } {
  const lines: string[] = [];
  const started: TargetName[] = [];
  const context: SuiteContext = {
    settings,
    progress: { section() {}, line: (text) => lines.push(text) },
    targetContext: { amqpUrl: '', amqpPrefix: 'test', natsUrl: '', timeoutMs: 1_000 },
    baselinesMeasured: new Map(),
    target(name) {
      started.push(name);
      const server = { cpu: async () => readCpu() } as unknown as ServerProcess;
      return Promise.resolve({ server, caller: { call: async () => ({}), close: async () => {} } });
    },
    release: async () => {},
    collector: () => Promise.reject(new Error('no collector here')),
  };
  return { context, lines, started };
}

describe('closed-loop measurement', () => {
  it('runs each case on a transport and on its baseline in turn, flipping the order every repetition, and measures the baseline once', async () => {
    const settings: Settings = {
      ...defaultSettings(true),
      workloads: ['rpc', 'baselines'],
      transports: ['tcp'],
      repetitions: 2,
      concurrency: [1],
      payloadBytes: [64],
      warmupMs: 0,
      durationMs: 20,
    };
    const { context, lines, started } = fakeContext(settings);

    const rpc = await rpcWorkload.run(context);
    const baselines = await baselinesWorkload.run(context);

    const turns = lines.map((line) => line.split(/\s+/).slice(0, 4).join(' ').replace(/ c=1$/, ''));
    expect(turns).toEqual([
      'rpc tcp verify',
      'base net verify',
      'rpc tcp echo 64',
      'base net echo 64',
      'base net verify',
      'rpc tcp verify',
      'base net echo 64',
      'rpc tcp echo 64',
    ]);
    expect(started).toEqual(['tcp', 'net']);
    expect(rpc.targets.map((t) => t.target)).toEqual(['tcp']);
    expect(baselines.targets.map((t) => [t.target, t.cases.length])).toEqual([['net', 2]]);
  });
});
