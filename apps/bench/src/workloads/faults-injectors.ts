/**
 * The faults, each injected into a running stack while the load runs:
 *
 *   restart-posts  SIGKILL the posts process (no graceful stop: in-flight calls die with it)
 *                  and start it again on the same address; on every transport.
 *   broker-cut     the broker closes every AMQP connection of this stack (found by the
 *                  connection_name the transport gives each one, which carries the stack's
 *                  AMQP prefix: the load generator's and the services'), as when a broker
 *                  node fails over; the shared broker itself keeps running. On amqp and mixed.
 *   udp-loss-N     N% of the datagrams between posts and its callers dropped, each way, by a
 *                  lossy proxy (packages/transport/src/testing/udp-proxy.ts) placed in front of
 *                  posts from the start: on udp the create calls and the events, on mixed the
 *                  events (posts' calls are AMQP there). Lifted after `lossMs`.
 */
import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { brokerConnections, type UdpProxy } from '@chirp/transport/testing';
import { rate } from '../report/format.js';
import type { FaultName } from '../results/faults.js';
import { STACK_TRANSPORTS, type Stack, type StackTransport } from '../stack/stack.js';

const run = promisify(execFile);

export interface FaultSubject {
  stack: Stack;
  /** The stack's AMQP_PREFIX: its connections' names start with `chirp <prefix> `. */
  amqpPrefix: string;
  /** The lossy proxy in front of posts (udp and mixed). */
  proxy?: UdpProxy;
}

export interface Injected {
  /** One line on what happened, e.g. "posts ready again after 1.4 s". */
  detail: string;
  /** When the fault took effect (performance.now()), if later than when inject was called. */
  at?: number;
  /** For a lasting fault: lifts it, and says what it did meanwhile. */
  heal?: () => string;
}

export interface Fault {
  name: FaultName;
  /** The transports it applies to. */
  transports: readonly StackTransport[];
  inject(subject: FaultSubject): Promise<Injected>;
}

const ALL = STACK_TRANSPORTS;

export const FAULTS: Record<FaultName, Fault> = {
  'restart-posts': {
    name: 'restart-posts',
    transports: ALL,
    async inject({ stack }) {
      const started = performance.now();
      await stack.restart('posts', 'SIGKILL');
      return { detail: `posts ready again after ${((performance.now() - started) / 1000).toFixed(1)} s` };
    },
  },
  'broker-cut': {
    name: 'broker-cut',
    transports: ['amqp', 'mixed'],
    async inject({ amqpPrefix }) {
      const pids = await brokerConnections(`chirp ${amqpPrefix} `);
      // All at once, not one after another as closeBrokerConnections does: a cut is one moment,
      // and each rabbitmqctl takes most of a second to start. The moment is when the last returned.
      const why = 'bench faults: broker-cut';
      await Promise.all(pids.map((pid) => run('rabbitmqctl', ['close_connection', pid, why]).catch(() => {})));
      return { detail: `${pids.length} connections closed by rabbitmqctl`, at: performance.now() };
    },
  },
  'udp-loss-5': lossFault(5),
  'udp-loss-20': lossFault(20),
};

function lossFault(percent: 5 | 20): Fault {
  return {
    name: `udp-loss-${percent}`,
    transports: ['udp', 'mixed'],
    async inject({ proxy }) {
      if (proxy === undefined) throw new Error('udp-loss needs the proxy in front of posts');
      const datagrams = (): { received: number; dropped: number } => {
        const { toServer, toClient } = proxy.stats;
        return { received: toServer.received + toClient.received, dropped: toServer.dropped + toClient.dropped };
      };
      const before = datagrams();
      proxy.faults.lossToServer = proxy.faults.lossToClient = percent / 100;
      return {
        detail: `proxy in front of posts dropping ${percent}% each way`,
        heal: () => {
          proxy.faults.lossToServer = proxy.faults.lossToClient = 0;
          const after = datagrams();
          return `${rate(after.dropped - before.dropped)} of ${rate(after.received - before.received)} datagrams dropped`;
        },
      };
    },
  };
}
