/**
 * The benchmark's output, checked for its structure, not its numbers: a tiny real run (two
 * transports and their baselines, each in its own server process) must leave a complete
 * result folder — results.json with every section, target and percentile, and a report.md
 * with the headline table and charts that exist. Plus the command line's refusals.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from './progress.js';
import { UsageError, WORKLOAD_NAMES, parseArgs, type Settings } from './settings.js';
import { runSuite, type SuiteOutcome } from './suite.js';

const PERCENTILE_KEYS = ['p50', 'p90', 'p99', 'p999'];
const FIGURE_KEYS = [
  ...PERCENTILE_KEYS,
  ...['throughput', 'errors', 'clientCpu', 'serverCpu', 'clientCpuPerCall', 'serverCpuPerCall'],
];

/** One suite run into a fresh temporary folder, shared by a describe block's tests and removed after them. */
interface SuiteRun {
  /** The temporary folder the result folder is made in. */
  out: string;
  outcome: SuiteOutcome;
  results: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  report: string;
}

function suiteRun(prefix: string, settingsFor: (out: string) => Promise<Settings>, timeoutMs: number): SuiteRun {
  const run = {} as SuiteRun;
  beforeAll(async () => {
    run.out = await mkdtemp(path.join(os.tmpdir(), prefix));
    run.outcome = await runSuite(await settingsFor(run.out), silentProgress);
    run.results = JSON.parse(await readFile(path.join(run.outcome.dir, 'results.json'), 'utf8'));
    run.report = await readFile(path.join(run.outcome.dir, 'report.md'), 'utf8');
  }, timeoutMs);
  afterAll(async () => {
    if (run.out) await rm(run.out, { recursive: true, force: true });
  });
  return run;
}

describe('bench report', () => {
  const run = suiteRun(
    'chirp-bench-',
    async (out) => {
      const settings = parseArgs(
        [
          '--quick',
          '--only=rpc,baselines,signing,telemetry,openloop',
          '--transports=tcp,http',
          '--duration=200ms',
          '--warmup=50ms',
          '--rate=500,1000',
          '--users=20',
          `--out=${out}`,
        ],
        process.env,
      );
      if (settings === 'help') throw new Error('unexpected --help');
      settings.payloadBytes = [64, 1024];
      return settings;
    },
    240_000,
  );

  it('writes a timestamped folder with results.json, report.md and SVG charts', async () => {
    expect(path.dirname(run.outcome.dir)).toBe(run.out);
    expect(path.basename(run.outcome.dir)).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    const files = await readdir(run.outcome.dir);
    expect(files).toEqual(expect.arrayContaining(['results.json', 'report.md']));
    expect(files.filter((f) => f.endsWith('.svg')).length).toBeGreaterThanOrEqual(3);
    expect(run.outcome.incomplete).toBe(false);
  });

  it('records the machine, versions and exact settings', () => {
    expect(run.results.machine).toEqual(
      expect.objectContaining({ cpuModel: expect.any(String), cores: expect.any(Number), node: process.version }),
    );
    expect(Object.keys(run.results.machine.packages)).toEqual(expect.arrayContaining(['amqplib', 'fastify', 'undici']));
    expect(run.results.machine).toHaveProperty('rabbitmq');
    expect(run.results.harness.cpuPerCallUs).toBeGreaterThan(0);
    expect(run.results.settings).toEqual(
      expect.objectContaining({ durationMs: 200, warmupMs: 50, transports: ['http', 'tcp'] }),
    );
    expect(Date.parse(run.results.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.results.startedAt));
  });

  it('has every closed-loop case with every figure, for every transport and baseline', () => {
    for (const [section, targets] of [
      ['rpc', ['http', 'tcp']],
      ['baselines', ['fastify', 'net']],
    ] as const) {
      expect(run.results.sections[section].targets.map((t: { target: string }) => t.target)).toEqual(targets);
      for (const target of run.results.sections[section].targets) {
        const cases = target.cases.map((c: { label: string; concurrency: number }) => `${c.label} c=${c.concurrency}`);
        expect(cases.sort()).toEqual(
          ['echo 1 KiB c=1', 'echo 1 KiB c=64', 'echo 64 B c=1', 'echo 64 B c=64', 'verify c=1', 'verify c=64'].sort(),
        );
        for (const c of target.cases) {
          expect(c.runs).toHaveLength(1);
          for (const summary of [c.median, c.min, c.max, c.runs[0]]) {
            for (const key of FIGURE_KEYS) expect(typeof summary[key], `${target.target} ${key}`).toBe('number');
          }
        }
      }
    }
    expect(run.results.comparison.map((c: { transport: string }) => c.transport)).toEqual(['http', 'tcp']);
    for (const c of run.results.comparison) {
      expect(c).toEqual(
        expect.objectContaining({
          throughputRatio: expect.any(Number),
          p99Ratio: expect.any(Number),
          cpuPerCallRatio: expect.any(Number),
        }),
      );
    }
  });

  it('prices signing: TCP signed on the small calls at both concurrencies, beside the unsigned figures', () => {
    const signing = run.results.sections.signing;
    expect(signing.targets.map((t: { target: string }) => t.target)).toEqual(['tcp+secret']);
    const cases = signing.targets[0].cases.map(
      (c: { label: string; concurrency: number }) => `${c.label} c=${c.concurrency}`,
    );
    expect(cases.sort()).toEqual(['echo 64 B c=1', 'echo 64 B c=64', 'verify c=1', 'verify c=64']);
    expect(run.report).toContain('## Signing (TRANSPORT_SECRET on TCP and UDP)');
    expect(run.report).toMatch(/\| tcp \| echo 64 B \| 64 \| [\d,]+ \| [\d,]+ \|.*\| [+-]\d+ \|/);
  });

  it('prices telemetry: each transport off, with AsyncLocalStorage only, and on with no call, 1 in 100 and every call traced, spans exported', () => {
    const telemetry = run.results.sections.telemetry;
    const cases = telemetry.cases.map((c: { transport: string; mode: string; concurrency: number }) =>
      [c.transport, c.mode, c.concurrency].join(' '),
    );
    expect(cases.sort()).toEqual(
      ['http', 'tcp']
        .flatMap((t) =>
          ['off', 'context', 'untraced', 'kept', 'sampled', 'traced'].flatMap((m) => [`${t} ${m} 1`, `${t} ${m} 64`]),
        )
        .sort(),
    );
    for (const c of telemetry.cases) {
      for (const key of FIGURE_KEYS) expect(typeof c.median[key]).toBe('number');
      expect(c.collectorCpu).toHaveLength(c.runs.length);
    }
    expect(telemetry.errors).toEqual({});
    expect(telemetry.spansExported).toBeGreaterThan(0);
    expect(run.report).toContain('## Telemetry cost (traces and metrics on and off)');
    expect(run.report).toMatch(/\| tcp \| 64 \| off \| [\d,]+ \| – \| [\d.]+ \| \d+ \| – \| \d+ \|/);
    for (const mode of [
      'AsyncLocalStorage only',
      'on, none traced',
      'on, 1 in 100 traced, not exported',
      'on, 1 in 100 traced',
      'on, all traced',
    ]) {
      expect(run.report).toMatch(
        new RegExp(`\\| tcp \\| 64 \\| ${mode} \\| [\\d,]+ \\| -?\\d+% \\| [\\d.]+ \\| \\d+ \\| -?\\d+% \\| \\d+ \\|`),
      );
    }
  });

  it('prices telemetry on the whole application: the social mix on two stacks per transport, off and on', () => {
    const social = run.results.sections.telemetry.social;
    expect(social.errors).toEqual({});
    expect(social.cases.map((c: { transport: string; mode: string }) => `${c.transport} ${c.mode}`).sort()).toEqual([
      'http off',
      'http sampled',
      'tcp off',
      'tcp sampled',
    ]);
    for (const c of social.cases) {
      expect(c.median.throughput).toBeGreaterThan(0);
      expect(c.median.errors).toBe(0);
      expect(c.median.serverCpuPerCall).toBeGreaterThan(0);
    }
    expect(run.report).toContain('### On the whole application (social mix through the web API)');
    expect(run.report).toMatch(
      /\| tcp \| [\d,]+ \| [\d,]+ \| -?\d+% \| [\d.]+ \/ [\d.]+ \| [\d.]+ \| [\d.]+ \| -?\d+% \|/,
    );
  });

  it('has the open-loop steps and max sustainable rate of every transport and baseline', () => {
    const open = run.results.sections.openloop;
    expect(open.targets.map((t: { target: string }) => t.target)).toEqual(['http', 'fastify', 'tcp', 'net']);
    for (const target of open.targets) {
      expect(target.steps.length).toBeGreaterThan(0);
      expect(target.steps[0].rate).toBe(500);
      for (const key of PERCENTILE_KEYS) expect(typeof target.steps[0][key]).toBe('number');
      expect(target).toHaveProperty('maxSustainableRate');
    }
  });

  it('has a headline table and embeds charts that exist', async () => {
    expect(run.report).toContain('## Headline');
    expect(run.report).toMatch(/\| target \| p50 ms \(c=1\) \| p99 ms \(c=1\) \| req\/s \(c=64\) \| req\/s ÷ baseline/);
    expect(run.report).toMatch(/\| \*\*http\*\* \(vs fastify\) \|/);
    expect(run.report).toMatch(/\| \*\*tcp\*\* \(vs net\) \|/);
    const headline = run.report.split('## Headline')[1]!.split('\n\n')[2]!.split('\n');
    expect(headline.length).toBe(2 + 4); // header, rule, 2 transports, 2 baselines
    for (const row of headline) expect(row.split('|').length, row).toBe(headline[0]!.split('|').length);
    for (const heading of ['## RPC (closed loop)', '## Baselines', '## Signing', '## Telemetry cost', '## Open loop']) {
      expect(run.report).toContain(heading);
    }
    const charts = [...run.report.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(charts.length).toBeGreaterThanOrEqual(3);
    for (const chart of charts) {
      expect(await readFile(path.join(run.outcome.dir, chart), 'utf8')).toMatch(
        /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
      );
    }
  });

  it('refuses bad flags with a sentence naming them', () => {
    expect(() => parseArgs(['--only=rpc,nope'], {})).toThrow(
      new UsageError(`--only=rpc,nope: nope is not one of ${WORKLOAD_NAMES.join(', ')}`),
    );
    expect(() => parseArgs(['--duration=soon'], {})).toThrow(/--duration=soon: "soon" is not a duration/);
    expect(() => parseArgs(['--reps=0'], {})).toThrow(/--reps=0: "0" is not a positive integer/);
    expect(() => parseArgs(['--fast'], {})).toThrow(/unknown argument "--fast"/);
    expect(() => parseArgs(['--transports=smoke'], {})).toThrow(/smoke is not one of http, amqp, tcp, udp/);
  });
});

/**
 * The workloads on the whole application (social mix, notification latency, npm start's PGlite
 * stack): a tiny run on tcp — the real services and the web app from their builds (run `npm run
 * build` first), a 30-user graph, two open-loop rates, fan-out to 1 and 3 sockets, 20 home
 * timelines one at a time — must leave their sections in
 * results.json and report.md, charts included.
 */
describe('bench report of the application workloads', () => {
  const run = suiteRun(
    'chirp-bench-app-',
    async (out) => {
      const settings = parseArgs(
        [
          '--quick',
          '--only=social,notify,embedded',
          '--transports=tcp',
          '--duration=1s',
          '--warmup=100ms',
          `--out=${out}`,
        ],
        process.env,
      );
      if (settings === 'help') throw new Error('unexpected --help');
      Object.assign(settings.social, { users: 30, followsPerUser: 3, seedPosts: 10, concurrency: [2] });
      settings.social.openLoop.rates = [40, 80]; // the traced run: a quarter of the max, for 50 requests at least
      Object.assign(settings.notify, { fanouts: [1, 3], posts: 2 });
      Object.assign(settings.embedded, { requests: 20, warmup: 20, verifies: 5 });
      return settings;
    },
    180_000,
  );

  it('has the social mix both ways: seeding, closed loop, open-loop steps by kind, stack CPU, max rate, breakdown', () => {
    for (const section of ['social', 'notify']) expect(run.results.sections[section].targets[0].error).toBeUndefined();
    expect(run.outcome.incomplete).toBe(false);
    const social = run.results.sections.social;
    expect(social).toEqual(
      expect.objectContaining({ users: 30, seededThrough: expect.any(String), shares: expect.any(Object) }),
    );
    expect(social.targets.map((t: { transport: string }) => t.transport)).toEqual(['tcp']);
    const [tcp] = social.targets;
    expect(tcp.seed).toEqual(expect.objectContaining({ users: 30, posts: 10, follows: expect.any(Number) }));
    for (const mode of ['web', 'direct']) {
      const driven = tcp[mode];
      expect(driven.closedLoop.map((c: { concurrency: number }) => c.concurrency)).toEqual([2]);
      for (const key of FIGURE_KEYS) expect(typeof driven.closedLoop[0].median[key], key).toBe('number');
      expect(Object.keys(driven.closedLoop[0].runs[0].byKind)).toContain('home timeline');
      expect(driven.steps.map((s: { rate: number }) => s.rate)).toEqual(expect.arrayContaining([40]));
      for (const step of [...driven.steps, driven.traced]) {
        const processes = ['auth', 'posts', 'follows', 'notify', 'web', 'postgres'];
        expect(Object.keys(step.stackCpu)).toEqual(expect.arrayContaining(processes));
        for (const figures of Object.values(step.byKind) as Record<string, unknown>[]) {
          for (const key of [...PERCENTILE_KEYS, 'errors', 'errorCodes']) expect(figures).toHaveProperty(key);
        }
      }
      expect(driven).toHaveProperty('maxSustainableRate');
      // Where the time went: the common kinds came back traced, each split into its parts.
      const kinds = driven.breakdown.map((k: { kind: string }) => k.kind);
      expect(kinds, mode).toEqual(expect.arrayContaining(['home timeline', 'user timeline']));
      for (const k of driven.breakdown) {
        for (const key of ['totalMs', 'edgeMs', 'transportMs', 'handlerMs', 'databaseMs', 'transportShare']) {
          expect(k[key], `${mode} ${k.kind} ${key}`).toBeGreaterThanOrEqual(0);
        }
        expect(k.traces).toBeGreaterThan(0);
      }
      const home = driven.breakdown.find((k: { kind: string }) => k.kind === 'home timeline');
      // Through the web, auth.verify is a third hop whenever the viewer's session is not in the
      // web app's 1-second cache — on most requests of a run this small and slow.
      const hops = mode === 'web' ? [2, 3] : [2];
      expect(hops, `${mode}: (auth.verify), posts, then posts → follows`).toContain(home.hops);
      expect(home.databaseMs).toBeGreaterThan(0);
    }
  });

  it('has the notification latency of every fan-out, with missed deliveries', () => {
    const [tcp] = run.results.sections.notify.targets;
    expect(tcp.transport).toBe('tcp');
    expect(tcp.cases.map((c: { fanout: number }) => c.fanout)).toEqual([1, 3]);
    for (const c of tcp.cases) {
      for (const key of ['p50', 'p99', 'missed']) expect(Object.keys(c[key]).sort()).toEqual(['max', 'median', 'min']);
      expect(c.runs[0]).toEqual(
        expect.objectContaining({ expected: 2 * c.fanout, received: expect.any(Number), missed: expect.any(Number) }),
      );
    }
  });

  it("has npm start's figures: a home timeline's latency and each process's CPU on PGlite, and auth.verify", () => {
    const embedded = run.results.sections.embedded;
    expect(embedded.errors).toEqual({});
    const [tcp] = embedded.cases;
    expect(tcp.transport).toBe('tcp');
    expect(tcp.homeTimeline.count).toBe(20);
    expect(tcp.verify.count).toBe(5);
    for (const name of ['web', 'auth', 'posts', 'follows', 'notify']) {
      expect(tcp.cpuMsPerRequest[name], name).toBeGreaterThanOrEqual(0);
    }
    // The web app and posts did work for every home timeline, on PGlite rather than the server.
    expect(tcp.cpuMsPerRequest.web).toBeGreaterThan(0);
    expect(tcp.cpuMsPerRequest.posts).toBeGreaterThan(0);
    expect(tcp.loadedCpuMsPerRequest).toBeGreaterThan(0);
    expect(run.report).toContain('## npm start as it comes (PGlite, one request at a time)');
    expect(run.report).toMatch(
      /\| tcp \| [\d.]+ \| [\d.]+ \| [\d.]+ [✓✗] \|( [\d.]+ \|){5} – \| [\d.]+ [✓✗] \| [\d.]+ \| [\d.]+ \|/,
    );
  });

  it('reports both sections with charts, and the social figures in the headline', async () => {
    for (const heading of ['## Headline', '## Social mix', '### Where the time goes', '## Notification latency']) {
      expect(run.report).toContain(heading);
    }
    expect(run.report).toMatch(/\| social max req\/s \(web; direct\) \| stack CPU ms\/request \(web; direct\) \|/);
    expect(run.report).toMatch(/\| \*\*tcp\*\* \|.*\| [\d,]+; [\d,]+ \| [\d.]+; [\d.]+ \| \d+%; \d+% \|/);
    expect(run.report).toMatch(/\| tcp \| web \| home timeline \| [23] \|/);
    const charts = [...run.report.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(charts).toEqual(
      expect.arrayContaining([
        'social-max-rate.svg',
        'social-breakdown-tcp.svg',
        'social-p99-web.svg',
        'social-p99-direct.svg',
        'notify-p99.svg',
      ]),
    );
    for (const chart of charts) {
      expect(await readFile(path.join(run.outcome.dir, chart), 'utf8')).toMatch(/^<svg /);
    }
  });
});

/**
 * The faults workload: a tiny run on amqp, tcp and udp (--quick: one fault on each — the broker
 * cut, a restart, datagram loss), on the real services from their builds, must leave every
 * episode's figures in results.json and a table and chart per fault in report.md.
 */
describe('bench report of the faults workload', () => {
  const run = suiteRun(
    'chirp-bench-faults-',
    async (out) => {
      const settings = parseArgs(
        ['--quick', '--only=faults', '--transports=amqp,tcp,udp', `--out=${out}`],
        process.env,
      );
      if (settings === 'help') throw new Error('unexpected --help');
      return settings;
    },
    180_000,
  );

  it('has one episode per transport with every figure', () => {
    const faults = run.results.sections.faults;
    expect(faults.plan).toEqual(expect.objectContaining({ rate: expect.any(Number), followers: expect.any(Number) }));
    expect(faults.transports.map((t: { transport: string }) => t.transport)).toEqual(['amqp', 'tcp', 'udp']);
    const episodes = faults.transports.map((t: { error?: string; episodes: { fault: string }[] }) => {
      expect(t.error).toBeUndefined();
      return t.episodes.map((e) => e.fault);
    });
    expect(episodes).toEqual([['broker-cut'], ['restart-posts'], ['udp-loss-20']]);
    for (const t of faults.transports) {
      const [e] = t.episodes;
      for (const key of [
        'calls',
        'errors',
        'writes',
        'acknowledged',
        'gaveUp',
        'lost',
        'duplicates',
        'storedWithoutAck',
      ]) {
        expect(typeof e[key], `${t.transport} ${key}`).toBe('number');
      }
      expect(e.errorCodes).toBeTypeOf('object');
      expect(Object.keys(e.notifications).sort()).toEqual(['duplicates', 'expected', 'lost', 'received']);
      expect(e).toHaveProperty('firstSuccessAfterMs');
      expect(e).toHaveProperty('rateBackAfterMs');
      expect(e.timeline.acks.length).toBeGreaterThan(0);
      expect(e.timeline.errors).toHaveLength(e.timeline.acks.length);
      expect(e.details.length).toBeGreaterThan(0);
    }
  });

  it('reports a table and a chart per fault', async () => {
    expect(run.report).toContain('## Faults');
    for (const [file, rows] of [
      ['faults-broker-cut.svg', ['amqp']],
      ['faults-restart-posts.svg', ['tcp']],
      ['faults-udp-loss-20.svg', ['udp']],
    ] as const) {
      const section = run.report.split(`(${file})`)[1]!.split('\n\n')[1]!.trim().split('\n');
      expect(section[0]).toMatch(/^\| transport \| calls \| errors by code \|/);
      expect(section.slice(2).map((row) => row.split(' | ')[0])).toEqual(rows.map((t) => `| ${t}`));
      for (const row of section) expect(row.split(' | ').length, row).toBe(section[0]!.split(' | ').length);
      expect(await readFile(path.join(run.outcome.dir, file), 'utf8')).toMatch(/^<svg /);
    }
  });
});
