/**
 * Baselines: the same closed-loop cases on the bare libraries under each selected transport
 * (Fastify + undici, amqplib, node:net, node:dgram), in separate processes like the
 * transports, so each transport's figures can be given as a ratio to its own floor. With
 * AMQP comes amqplib over a quorum queue too: not a floor, the price of durability. A baseline
 * the RPC workload already measured beside its transport is taken from there, not run again.
 */
import { BASELINE_OF, PRICED_BESIDE, type TargetName } from '../targets/index.js';
import { measureClosedLoop } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

export const baselinesWorkload: Workload<'baselines'> = {
  name: 'baselines',
  title: 'Baselines (bare libraries, closed loop)',
  async run(context) {
    const names = context.settings.transports.flatMap((t): TargetName[] => [
      BASELINE_OF[t],
      ...(PRICED_BESIDE[t] ?? []),
    ]);
    const toMeasure = names.filter((name) => !context.baselinesMeasured.has(name));
    const measured = await measureClosedLoop(
      context,
      'base',
      toMeasure.map((name) => [name]),
    );
    return {
      targets: names.map((name) => context.baselinesMeasured.get(name) ?? measured.find((r) => r.target === name)!),
    };
  },
};
