/**
 * Baselines: the same closed-loop cases on the bare libraries under each selected transport
 * (Fastify + undici, amqplib, node:net, node:dgram), in separate processes like the
 * transports, so each transport's figures can be given as a ratio to its own floor. With
 * AMQP comes amqplib over a quorum queue too: not a floor, the price of durability.
 */
import { renderClosedLoop } from '../report/closed-loop-report.js';
import { BASELINE_OF, PRICED_BESIDE } from '../targets/index.js';
import { measureClosedLoop } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

export const baselinesWorkload: Workload<'baselines'> = {
  name: 'baselines',
  title: 'Baselines (bare libraries, closed loop)',
  run: (context) =>
    measureClosedLoop(
      context,
      'base',
      context.settings.transports.flatMap((t) => [BASELINE_OF[t], ...(PRICED_BESIDE[t] ?? [])]),
    ),
  render: (section, results) => renderClosedLoop('baselines', section, results),
};
