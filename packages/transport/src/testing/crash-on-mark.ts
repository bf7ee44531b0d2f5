/**
 * A process for poison-message tests: it serves `crashy` and consumes `crashy.job` events in
 * group `workers`, on the AMQP broker and prefix of its environment (AMQP_URL, AMQP_PREFIX).
 * A request or event whose payload has `crash: true` makes it SIGKILL itself mid-handling, so
 * its consumer dies holding the message unacked — as a real crash would, with no goodbye to the
 * broker. It prints `ready` once consuming, then `handled <id>` for every other message it
 * finishes (a request's reply is the payload).
 *
 *   node packages/transport/dist/testing/crash-on-mark.js
 */
import { createTransport } from '../factory.js';
import { DEFAULT_TRANSPORT_CONFIG } from '../config.js';

interface Marked {
  id: string;
  crash?: boolean;
}

function handle(payload: unknown): Marked {
  const message = payload as Marked;
  if (message.crash === true) process.kill(process.pid, 'SIGKILL');
  process.stdout.write(`handled ${message.id}\n`);
  return message;
}

const transport = createTransport({
  transport: 'amqp',
  amqpUrl: process.env.AMQP_URL ?? DEFAULT_TRANSPORT_CONFIG.amqpUrl,
  amqpPrefix: process.env.AMQP_PREFIX ?? DEFAULT_TRANSPORT_CONFIG.amqpPrefix,
});
await transport.serve('crashy', { work: handle });
await transport.subscribe('crashy', 'job', (event) => void handle(event), { group: 'workers' });
process.stdout.write('ready\n');
process.once('SIGTERM', () => void transport.close().then(() => process.exit(0)));
