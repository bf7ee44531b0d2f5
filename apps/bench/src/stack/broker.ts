/**
 * RabbitMQ for a stack: a check that it is reachable before anything starts (so a stopped
 * broker is one clear sentence, not four services failing), and the removal of every durable
 * name the services declared under the stack's AMQP_PREFIX once they have stopped (see
 * packages/transport/src/amqp/topology.ts for the names), so runs leave nothing behind.
 */
import { connect } from 'amqplib';

const RPC_SERVICES = ['auth', 'posts', 'follows'];

export async function assertBrokerReachable(amqpUrl: string): Promise<void> {
  try {
    const connection = await connect(amqpUrl, { timeout: 3_000 });
    await connection.close();
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable (${(err as Error).message}): start it, or set AMQP_URL`, {
      cause: err,
    });
  }
}

export async function deleteTopology(amqpUrl: string, prefix: string): Promise<void> {
  const connection = await connect(amqpUrl, { timeout: 3_000 });
  try {
    const channel = await connection.createChannel();
    for (const service of RPC_SERVICES) await channel.deleteQueue(`${prefix}.rpc.${service}`);
    await channel.deleteQueue(`${prefix}.dead`);
    await channel.deleteExchange(`${prefix}.dlx`);
    await channel.deleteExchange(`${prefix}.events`);
  } finally {
    await connection.close();
  }
}
