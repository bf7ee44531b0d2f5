/**
 * RPC: the Chirp transports under closed-loop load — the small hot call (verify) and the
 * echo at each payload size, at each concurrency. Rendered with each transport's ratio to
 * its own bare baseline, when the baselines workload ran too. When it runs, each transport takes
 * turns here with its baseline, case by case (closed-loop-workload.ts), and the baseline's
 * figures are kept for the baselines workload to report.
 */
import { BASELINE_OF, isBaseline } from '../targets/index.js';
import { measureClosedLoop } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

export const rpcWorkload: Workload<'rpc'> = {
  name: 'rpc',
  title: 'RPC (closed loop)',
  async run(context) {
    const { transports, workloads } = context.settings;
    const beside = workloads.includes('baselines');
    const measured = await measureClosedLoop(
      context,
      'rpc',
      transports.map((t) => (beside ? [t, BASELINE_OF[t]] : [t])),
    );
    for (const result of measured.filter((r) => isBaseline(r.target)))
      context.baselinesMeasured.set(result.target, result);
    return { targets: measured.filter((r) => !isBaseline(r.target)) };
  },
};
