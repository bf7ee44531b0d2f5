/**
 * The stream transports (TCP, and HTTP, which is TCP too) on a bad network: a TcpProxy
 * between a real client and a real server, the client pointed at it as LEDGER_ADDR would,
 * slicing, delaying and resetting the connections under a few hundred calls.
 *
 * What a caller may rely on, whatever the network does: a reply is its own call's reply,
 * byte for byte; a call that cannot be answered fails with UNAVAILABLE or
 * DEADLINE_EXCEEDED by its deadline, never later; the transport never runs a request
 * twice behind the caller's back (both send a request once: tcp/index.ts, http/index.ts);
 * and once the network is good again, calls succeed without anyone restarting anything.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { createTransport, type RoutedTransport } from './factory.js';
import { TcpProxy, TestWorld, eventually, failure, sleep } from './testing/index.js';
import type { Handlers } from './transport.js';

/** How late past its deadline a call may settle on a loaded machine: timers fire late, never this late. */
const SETTLE_MARGIN_MS = 300;
const CONCURRENCY = 16;

interface Outcome {
  id: string;
  /** ms from the call to its settling. */
  settledAfterMs: number;
  reply?: unknown;
  error?: unknown;
  /** How many times the promise settled: a promise cannot settle twice, but a callback could. */
  settlements: number;
}

/** Run `calls` with at most CONCURRENCY in flight; each outcome is recorded, none throws. */
async function runCalls(count: number, call: (i: number) => { id: string; promise: Promise<unknown> }) {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const started = Date.now();
      const { id, promise } = call(next++);
      const outcome: Outcome = { id, settledAfterMs: 0, settlements: 0 };
      outcomes.push(outcome);
      await promise.then(
        (reply) => Object.assign(outcome, { reply, settlements: outcome.settlements + 1 }),
        (error: unknown) => Object.assign(outcome, { error, settlements: outcome.settlements + 1 }),
      );
      outcome.settledAfterMs = Date.now() - started;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

function summary(outcomes: Outcome[]) {
  const failedByCode: Record<string, number> = {};
  for (const { error } of outcomes) {
    if (error === undefined) continue;
    const code = error instanceof TransportError ? error.code : String(error);
    failedByCode[code] = (failedByCode[code] ?? 0) + 1;
  }
  return {
    requests: outcomes.length,
    succeeded: outcomes.filter((o) => o.error === undefined).length,
    failedByCode,
    maxSettleMs: Math.max(...outcomes.map((o) => o.settledAfterMs)),
  };
}

/** Text up to 141 characters drawn from 1- to 4-byte UTF-8 characters. */
function multibyteText(i: number): string {
  const alphabet = ['a', 'Z', ' ', 'é', 'ß', 'Ж', '中', '文', '€', '🐦', '👩‍💻', '\u0000', '"', '\\'];
  return Array.from({ length: (i * 37) % 142 }, (_, k) => alphabet[(i + k * 7) % alphabet.length]).join('');
}

describe.each(['tcp', 'http'] as const)('%s transport through a faulty network', (kind) => {
  /** Calls `append` has run, per request id. */
  const runs = new Map<string, number>();
  const handlers: Handlers = {
    echo: (payload) => payload,
    append: async (payload) => {
      const { id, wait } = payload as { id: string; wait?: number };
      runs.set(id, (runs.get(id) ?? 0) + 1);
      if (wait !== undefined) await sleep(wait);
      return { appended: id };
    },
  };
  let server: TestWorld;
  let proxy: TcpProxy;
  let client: RoutedTransport;

  beforeEach(async () => {
    runs.clear();
    server = new TestWorld(kind);
    const listener = await server.serve('ledger', handlers);
    proxy = await TcpProxy.start({ target: listener.address });
    client = createTransport({ ...server.config, services: { ledger: { addresses: [proxy.address] } } });
  });
  afterEach(async () => {
    await client.close();
    await proxy.close();
    await server.close();
  });

  const append = (id: string, timeoutMs: number, wait?: number) => ({
    id,
    promise: client.request('ledger', 'append', { id, wait }, { timeoutMs }),
  });

  /** Calls in a row after the faults stop: every one must succeed, with no restart. */
  async function expectRecovered(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      expect(await client.request('ledger', 'append', { id: `after-${i}` }, { timeoutMs: 2_000 })).toEqual({
        appended: `after-${i}`,
      });
    }
  }

  it('delivers every payload byte-exact through sliced writes and latency', async () => {
    Object.assign(proxy.faults, { latencyMs: 1, jitterMs: 4, sliceBytes: 32, sliceGapMs: 1.25 });
    const small = await runCalls(300, (i) => {
      const payload = { id: `small-${i}`, text: multibyteText(i) };
      return { id: payload.id, promise: client.request('ledger', 'echo', payload, { timeoutMs: 10_000 }) };
    });
    // ~64 KiB each way: 15,000 four-byte birds plus framing, cut into thousands of pieces.
    Object.assign(proxy.faults, { sliceBytes: 64, sliceGapMs: 0 });
    const large = await runCalls(6, (i) => {
      const payload = { id: `large-${i}`, text: `${'🐦'.repeat(15_000)}é${'中'.repeat(1_000 + i)}` };
      return { id: payload.id, promise: client.request('ledger', 'echo', payload, { timeoutMs: 10_000 }) };
    });
    for (const [i, outcome] of small.entries()) {
      expect(outcome.error).toBeUndefined();
      expect(outcome.reply).toEqual({ id: outcome.id, text: multibyteText(Number(outcome.id.slice(6))) });
      expect(outcome.settlements, `call ${i}`).toBe(1);
    }
    for (const outcome of large) {
      expect(outcome.error).toBeUndefined();
      const text = (outcome.reply as { text: string }).text;
      expect(Buffer.byteLength(JSON.stringify(outcome.reply))).toBeGreaterThan(63_000);
      expect(text).toBe(`${'🐦'.repeat(15_000)}é${'中'.repeat(1_000 + Number(outcome.id.slice(6)))}`);
    }
    // It really was cut up: several writes per chunk on average.
    expect(proxy.stats.writes).toBeGreaterThan(
      (proxy.stats.bytesToServer + proxy.stats.bytesToClient) / 64 + small.length,
    );
    console.info(`${kind} sliced: ${JSON.stringify({ ...summary([...small, ...large]), proxy: proxy.stats })}`);
  });

  it('under random resets, fails calls only with UNAVAILABLE or DEADLINE_EXCEEDED, by the deadline, never runs one twice, and recovers', async () => {
    const timeoutMs = 1_000;
    Object.assign(proxy.faults, { latencyMs: 1, jitterMs: 3, resetAfterBytes: 6_000, resetPerChunk: 0.02 });
    const outcomes = await runCalls(300, (i) => append(`reset-${i}`, timeoutMs));
    const figures = summary(outcomes);
    const resets = proxy.stats.resets.afterBytes + proxy.stats.resets.perChunk;

    for (const outcome of outcomes) {
      expect(outcome.settlements).toBe(1);
      expect(outcome.settledAfterMs, outcome.id).toBeLessThanOrEqual(timeoutMs + SETTLE_MARGIN_MS);
      if (outcome.error === undefined) expect(outcome.reply).toEqual({ appended: outcome.id });
      else expect(outcome.error).toBeInstanceOf(TransportError);
    }
    expect(Object.keys(figures.failedByCode).filter((c) => c !== 'UNAVAILABLE' && c !== 'DEADLINE_EXCEEDED')).toEqual(
      [],
    );
    // The network was bad enough to matter, and not so bad that nothing got through (one TCP
    // reset fails every call multiplexed on the connection: up to CONCURRENCY at once).
    expect(resets).toBeGreaterThanOrEqual(5);
    expect(figures.succeeded).toBeGreaterThan(outcomes.length / 10);
    expect(figures.succeeded).toBeLessThan(outcomes.length);

    // At most once: a reply means the handler ran once; a failure, that it ran once or not at all.
    await sleep(200); // requests that reached the server just before their connection died
    for (const outcome of outcomes) {
      const ran = runs.get(outcome.id) ?? 0;
      if (outcome.error === undefined) expect(ran, outcome.id).toBe(1);
      else expect(ran, outcome.id).toBeLessThanOrEqual(1);
    }
    const failedButRan = outcomes.filter((o) => o.error !== undefined && runs.has(o.id)).length;

    Object.assign(proxy.faults, { resetAfterBytes: 0, resetPerChunk: 0 });
    await expectRecovered();
    console.info(`${kind} resets: ${JSON.stringify({ ...figures, timeoutMs, resets, failedButRan })}`);
  });

  it('does not run a request again when its connection dies after the handler started', async () => {
    const call = append('once', 2_000, 150);
    await eventually(() => expect(runs.get('once')).toBe(1));
    proxy.resetAll();
    const started = Date.now();
    expect((await failure(call.promise)).code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(500); // the reset is noticed, not the deadline
    await sleep(300);
    expect(runs.get('once')).toBe(1);
    await expectRecovered();
  });

  it('fails calls at their deadline while the network stalls, then recovers', async () => {
    const timeoutMs = 400;
    await proxy.setBlackout('stall');
    const outcomes = await runCalls(32, (i) => append(`stall-${i}`, timeoutMs));
    for (const outcome of outcomes) {
      expect(outcome.error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      expect(outcome.settledAfterMs).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(outcome.settledAfterMs).toBeLessThanOrEqual(timeoutMs + SETTLE_MARGIN_MS);
    }
    await proxy.setBlackout('none');
    await expectRecovered();
    console.info(`${kind} stall: ${JSON.stringify({ ...summary(outcomes), timeoutMs })}`);
  });

  it('fails calls fast with UNAVAILABLE while the target is down, then recovers within its backoff', async () => {
    const timeoutMs = 2_000;
    const inFlight = Array.from({ length: 8 }, (_, i) => append(`crash-${i}`, timeoutMs, 300));
    await eventually(() => expect(runs.size).toBe(8));
    await proxy.setBlackout('refuse');
    proxy.resetAll(); // the target crashed: live connections die, new ones are refused
    const whileDown = [...inFlight, ...Array.from({ length: 20 }, (_, i) => append(`down-${i}`, timeoutMs))].map(
      async ({ promise }) => {
        const started = Date.now();
        const error = await failure(promise);
        return { code: error.code, ms: Date.now() - started };
      },
    );
    for (const { code, ms } of await Promise.all(whileDown)) {
      expect(code).toBe('UNAVAILABLE');
      expect(ms).toBeLessThan(timeoutMs / 2);
    }
    await proxy.setBlackout('none');
    const back = Date.now();
    await eventually(() => client.request('ledger', 'echo', 'up?', { timeoutMs: 500 }), 8_000, 50);
    const recoveredAfterMs = Date.now() - back;
    // One short outage is one failure, however many calls saw it: its sit-out is 50-100 ms, not the 5 s ceiling.
    expect(recoveredAfterMs).toBeLessThan(1_000);
    await expectRecovered();
    console.info(`${kind} target down: ${JSON.stringify({ failedFast: 28, recoveredAfterMs })}`);
  });
});
