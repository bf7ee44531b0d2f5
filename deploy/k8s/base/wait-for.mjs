/**
 * An init container's wait: exits once every `host:port` given accepts a TCP connection.
 *
 * Kubernetes' form of compose's `depends_on: { condition: service_healthy }`: a Service sends
 * connections only to ready pods (readiness probe = compose's healthcheck), and a headless
 * Service's name resolves only to ready pods, so a connection means "one is ready". Why it
 * matters for Chirp: a caller expands each service's name into its replicas' addresses once, at
 * start (packages/transport/src/replicas.ts), so it must not start before they answer.
 */
import { connect } from 'node:net';

const RETRY_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
const REPORT_EVERY_MS = 10_000;

const targets = process.argv.slice(2).map((target) => {
  const at = target.lastIndexOf(':');
  const port = Number(target.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    console.error(`wait-for: ${target} is not host:port`);
    process.exit(2);
  }
  return { target, host: target.slice(0, at), port };
});

const waiting = new Set(targets.map(({ target }) => target));
const report = setInterval(
  () => console.log(`wait-for: still waiting for ${[...waiting].join(', ')}`),
  REPORT_EVERY_MS,
);

await Promise.all(
  targets.map(async ({ target, host, port }) => {
    while (!(await accepts(host, port))) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    waiting.delete(target);
    console.log(`wait-for: ${target} is up`);
  }),
);
clearInterval(report);

/** Whether a TCP connection to host:port opens (an unknown name, a refusal or a timeout: no). */
function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
