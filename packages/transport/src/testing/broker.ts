/**
 * The real RabbitMQ, driven as an operator would: find connections by the name Chirp gives
 * them (client property connection_name), have the broker close them, and delete what a test
 * declared. Only ever touches names the caller passes, so test files sharing the broker never
 * disturb each other.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { HEADER_DEATH_QUEUE, HEADER_DEATH_REASON } from '../amqp/redelivery.js';
import { AMQP_TEST_URL } from './index.js';

const run = promisify(execFile);

/** The broker pids of the connections whose connection_name contains `fragment`. */
export async function brokerConnections(fragment: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', 'pid', 'client_properties']);
  return stdout
    .split('\n')
    .filter((line) => /\{"connection_name","([^"]*)"\}/.exec(line)?.[1]?.includes(fragment))
    .map((line) => line.split('\t')[0]!);
}

/** Have the broker close every connection whose name contains `fragment`; returns how many it closed. */
export async function closeBrokerConnections(fragment: string, why: string): Promise<number> {
  const pids = await brokerConnections(fragment);
  // One at a time: rabbitmqctl takes one pid, and a pid that went away meanwhile is not an error here.
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, why]).catch(() => {});
  return pids.length;
}

/** Delete the queues and exchanges a test declared (everything under its prefix). */
export async function deleteByPrefix(prefix: string): Promise<void> {
  const list = async (what: string): Promise<string[]> => {
    const { stdout } = await run('rabbitmqctl', [what, '-q', '--no-table-headers', 'name']);
    return stdout.split('\n').filter((name) => name.startsWith(`${prefix}.`));
  };
  const [queues, exchanges] = await Promise.all([list('list_queues'), list('list_exchanges')]);
  const model = await connect(AMQP_TEST_URL);
  try {
    const cleaner = await model.createChannel();
    for (const queue of queues) await cleaner.deleteQueue(queue);
    for (const exchange of exchanges) await cleaner.deleteExchange(exchange);
  } finally {
    await model.close();
  }
}

export interface DeadLetter {
  body: string;
  /**
   * Why it was dead-lettered: rejected, expired, delivery_limit, maxlen. From the broker's
   * x-first-death-reason, or, for a request our consumer counted past the limit (redelivery.ts),
   * from x-chirp-death-reason.
   */
  reason: string;
  /** The queue it was dead-lettered from. */
  queue: string;
}

/** Take every message out of `<prefix>.dead`, the dead-letter queue of the transport's topology. */
export async function takeDeadLetters(prefix: string): Promise<DeadLetter[]> {
  const model = await connect(AMQP_TEST_URL);
  const letters: DeadLetter[] = [];
  try {
    const channel = await model.createChannel();
    for (;;) {
      const message = await channel.get(`${prefix}.dead`, { noAck: true });
      if (message === false) return letters;
      const headers = message.properties.headers ?? {};
      letters.push({
        body: message.content.toString('utf8'),
        reason: String(headers[HEADER_DEATH_REASON] ?? headers['x-first-death-reason']),
        queue: String(headers[HEADER_DEATH_QUEUE] ?? headers['x-first-death-queue']),
      });
    }
  } finally {
    await model.close();
  }
}
