/**
 * Signing: what TRANSPORT_SECRET costs. TCP and UDP again, with every frame and datagram
 * HMAC-signed and replay-checked, on the small calls only (verify and echo 64 B) at the
 * headline concurrencies, set beside the same cases unsigned from the RPC section. The RPC
 * section runs them unsigned, like HTTP and AMQP (which sign nothing either), so the
 * transports compare on equal terms there; this section prices the difference.
 */
import { headlineLevels } from '../comparison.js';
import type { SignedName } from '../targets/index.js';
import { measureClosedLoop } from './closed-loop-workload.js';
import type { Workload } from './workload.js';

const SIGNED_OF = { tcp: 'tcp+secret', udp: 'udp+secret' } as const satisfies Record<string, SignedName>;
const SMALL_PAYLOAD = 64;

export const signingWorkload: Workload<'signing'> = {
  name: 'signing',
  title: 'Signing (TRANSPORT_SECRET on TCP and UDP)',
  async run(context) {
    const { settings } = context;
    const levels = headlineLevels(settings);
    const targets = settings.transports.filter((t) => t === 'tcp' || t === 'udp').map((t) => SIGNED_OF[t]);
    const small = { ...settings, payloadBytes: [SMALL_PAYLOAD], concurrency: [levels.latency, levels.throughput] };
    const measured = await measureClosedLoop(
      { ...context, settings: small },
      'sign',
      targets.map((t) => [t]),
    );
    return { targets: measured };
  },
};
