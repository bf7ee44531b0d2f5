/**
 * The faults workload: what each transport does to the application's writes and live
 * notifications when something breaks under load — a service killed and restarted, the
 * broker cutting its connections, datagrams lost — measured as calls and errors, posts
 * acknowledged and then lost (must be 0), duplicates, notifications lost and the time to
 * recover. One drill per transport (faults-drill.ts), on every transport and mixed.
 *
 * --quick: 40 creates/s, 2 authors × 10 followers, short episodes, one fault per transport
 *          (datagram loss on udp and mixed, the broker cut on amqp, the restart on http and tcp):
 *          each transport's stack costs ~8 s to start, seed and stop, so five stacks are most
 *          of the minute;
 * full:    60 creates/s, 4 authors × 40 followers, every fault (5% and 20% loss), episodes
 *          long enough to see the rate settle (about 3 minutes).
 * The restart comes last on each transport: on http and udp the restarted posts forgets
 * notify's event registration until notify renews it (every 10 s), and that loss must not be
 * counted against the next fault.
 */
import type { FaultPlan, FaultsSection } from '../results/faults.js';
import { drill } from './faults-drill.js';
import { stackTransports } from './with-stack.js';
import type { Workload } from './workload.js';

export function faultPlan(quick: boolean): FaultPlan {
  return quick
    ? {
        faults: ['udp-loss-20', 'broker-cut', 'restart-posts'],
        faultsPerTransport: 1,
        rate: 40,
        authors: 2,
        followers: 10,
        attemptTimeoutMs: 2_000,
        retryBudgetMs: 15_000,
        warmupMs: 2_000,
        beforeMs: 1_000,
        lossMs: 1_500,
        minAfterMs: 1_000,
        maxAfterMs: 6_000,
        tailMs: 500,
        graceMs: 1_000,
      }
    : {
        faults: ['broker-cut', 'udp-loss-5', 'udp-loss-20', 'restart-posts'],
        faultsPerTransport: null,
        rate: 60,
        authors: 4,
        followers: 40,
        attemptTimeoutMs: 2_000,
        retryBudgetMs: 15_000,
        warmupMs: 5_000,
        beforeMs: 3_000,
        lossMs: 6_000,
        minAfterMs: 3_000,
        maxAfterMs: 12_000,
        tailMs: 2_000,
        graceMs: 3_000,
      };
}

export const faultsWorkload: Workload<'faults'> = {
  name: 'faults',
  title: 'Faults (restart, broker cut, datagram loss under load)',
  async run(context) {
    const plan = faultPlan(context.settings.quick);
    const section: FaultsSection = { plan, transports: [] };
    for (const transport of stackTransports(context.settings)) {
      try {
        section.transports.push(await drill(transport, plan, context));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        section.transports.push({ transport, episodes: [], socketDisconnects: 0, error });
        context.progress.line(`faults ${transport}: FAILED: ${error}`);
      }
    }
    return section;
  },
};
