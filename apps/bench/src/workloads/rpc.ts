/**
 * RPC: the Chirp transports under closed-loop load — the small hot call (verify) and the
 * echo at each payload size, at each concurrency. Rendered with each transport's ratio to
 * its own bare baseline, when the baselines workload ran too.
 */
import { renderClosedLoop } from '../report/closed-loop-report.js';
import { measureClosedLoop } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

export const rpcWorkload: Workload<'rpc'> = {
  name: 'rpc',
  title: 'RPC (closed loop)',
  run: (context) => measureClosedLoop(context, 'rpc', context.settings.transports),
  render: (section, results) => renderClosedLoop('rpc', section, results),
};
