/**
 * The application as `npm start` runs it, one request at a time: every service on PGlite (its
 * PostgreSQL compiled to WebAssembly, inside the service's process) and every request traced, as
 * the Transports page needs. The viewer follows FOLLOWEES people who wrote POSTS_EACH posts each;
 * after `warmup` unmeasured requests, `requests` home timelines through the web API, each sent when
 * the last one is answered: their latency, and each process's CPU per request. Then auth.verify of
 * fresh tokens (one log-in each, so that no cache holds them), straight at auth from a client on
 * the same transport, as the web app calls it for a session it has not seen.
 *
 * One request at a time is how one person clicking loads the demo, and it is dearer per request
 * than a loaded stack: each process wakes for each request, with cold caches. So the same requests
 * are made again LOADED at a time, for their CPU per request beside.
 */
import { performance } from 'node:perf_hooks';
import { auth, chirpTransportConfig, client } from '@chirp/contracts';
import { createTransport, type TransportKind } from '@chirp/transport';
import { LatencyRecorder } from '../load/latency.js';
import { cpuMicros, type CpuReading } from '../process/messages.js';
import { EMBEDDED_PROCESSES, totalCpu, type EmbeddedCase, type EmbeddedSection } from '../results/embedded.js';
import type { Stack, StackProcessName } from '../stack/stack.js';
import { WebApi } from '../stack/web-api.js';
import { seededRandom } from './social-graph.js';
import { SEED_PASSWORD, seedGraph } from './social-seed.js';
import { withStack } from './with-stack.js';
import type { Workload } from './workload.js';

const FOLLOWEES = 10;
const POSTS_EACH = 5;
/** Requests in flight for the comparison run: the same requests, the processes kept busy. */
const LOADED = 8;

export const embeddedWorkload: Workload<'embedded'> = {
  name: 'embedded',
  title: 'npm start as it comes: PGlite, every request traced, one request at a time',
  async run(context) {
    const { settings, progress } = context;
    const section: EmbeddedSection = {
      ...settings.embedded,
      followees: FOLLOWEES,
      postsEach: POSTS_EACH,
      cases: [],
      errors: {},
    };
    for (const transport of settings.transports) {
      try {
        const measured = await withStack(
          context,
          'embedded',
          transport,
          (stack) => measure(stack, transport, section),
          {
            database: 'pglite',
            // As npm start: every request traced (kept for the Transports page), nothing exported.
            env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
          },
        );
        section.cases.push(measured);
        progress.line(
          `embedded ${transport.padEnd(7)} home timeline p50 ${measured.homeTimeline.p50.toFixed(2)} ms, ` +
            `${totalCpu(measured.cpuMsPerRequest).toFixed(2)} ms CPU per request; ` +
            `auth.verify p50 ${measured.verify.p50.toFixed(2)} ms`,
        );
      } catch (err) {
        section.errors[transport] = (err as Error).message;
        progress.line(`embedded ${transport}: not measured: ${(err as Error).message}`);
      }
    }
    return section;
  },
};

async function measure(stack: Stack, transport: TransportKind, section: EmbeddedSection): Promise<EmbeddedCase> {
  const random = seededRandom(20_261_206);
  const usernames = ['viewer', ...Array.from({ length: FOLLOWEES }, (_, i) => `author${i}`)];
  let nextAuthor = 0;
  const [viewer] = await seedGraph(
    stack,
    { usernames, follows: usernames.slice(1).map((_, i) => [0, i + 1]), followers: [] },
    FOLLOWEES * POSTS_EACH,
    () => 1 + (nextAuthor++ % FOLLOWEES),
    random,
  );
  const web = new WebApi(stack.webUrl, { connections: LOADED, timeoutMs: 10_000 });
  const homeTimeline = new LatencyRecorder();
  // RabbitMQ's CPU too on AMQP: the broker carries every call (PostgreSQL is not used here).
  const names = [...EMBEDDED_PROCESSES, ...(transport === 'amqp' ? (['rabbitmq'] as const) : [])];
  const timeline = () => web.homeTimeline(viewer!.token);
  try {
    const first = await timeline();
    if (first.posts.length === 0) throw new Error('the seeded home timeline is empty');
    for (let i = 1; i < section.warmup; i++) await timeline();
    const cpuMsPerRequest = await cpuPerRequest(stack, names, section.requests, async () => {
      for (let i = 0; i < section.requests; i++) {
        const started = performance.now();
        await timeline();
        homeTimeline.record(performance.now() - started);
      }
    });
    const loaded = await cpuPerRequest(stack, names, section.requests, async () => {
      let left = section.requests;
      const worker = async () => {
        while (left-- > 0) await timeline();
      };
      await Promise.all(Array.from({ length: LOADED }, worker));
    });
    return {
      transport,
      homeTimeline: homeTimeline.summary(),
      cpuMsPerRequest,
      loadedCpuMsPerRequest: totalCpu(loaded),
      verify: await verifyFreshTokens(stack, section.verifies),
    };
  } finally {
    homeTimeline.destroy();
    await web.close();
  }
}

/** Each of `names`' CPU while `run` makes `requests` requests, per request, ms. */
async function cpuPerRequest(
  stack: Stack,
  names: StackProcessName[],
  requests: number,
  run: () => Promise<void>,
): Promise<Partial<Record<StackProcessName, number>>> {
  const before = stack.cpu();
  await run();
  return cpuMsPerRequest(before, stack.cpu(), names, requests);
}

/** Each of `names`' CPU between two readings of the stack, per request, ms (0 for a process that did nothing). */
export function cpuMsPerRequest(
  before: Partial<Record<StackProcessName, CpuReading>>,
  after: Partial<Record<StackProcessName, CpuReading>>,
  names: StackProcessName[],
  requests: number,
): Partial<Record<StackProcessName, number>> {
  const perRequest: Partial<Record<StackProcessName, number>> = {};
  for (const name of names) {
    const [from, to] = [before[name], after[name]];
    if (from !== undefined && to !== undefined) {
      perRequest[name] = cpuMicros(from, to) / 1000 / requests;
    }
  }
  return perRequest;
}

/** auth.verify of `count` tokens, each its own log-in and verified once, one at a time. */
async function verifyFreshTokens(stack: Stack, count: number) {
  const transport = createTransport(chirpTransportConfig(stack.clientEnv));
  const recorder = new LatencyRecorder();
  try {
    const authClient = client(transport, auth);
    for (let i = 0; i < count; i++) {
      const { token } = await authClient.logIn({ username: 'viewer', password: SEED_PASSWORD });
      const started = performance.now();
      await authClient.verify({ token });
      recorder.record(performance.now() - started);
    }
    return recorder.summary();
  } finally {
    recorder.destroy();
    await transport.close();
  }
}
