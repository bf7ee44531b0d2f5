/**
 * The figures of one fault episode, from what the load recorded: calls and errors by code,
 * writes acknowledged and given up, how long writes failed, and the rate over time for the
 * chart. (What was lost or duplicated needs the service's data: faults-verify.ts.)
 *
 * Time to recover is measured two ways, both from the moment the fault was injected:
 *   first success — the first call SENT after the fault that succeeded, when it settled
 *                   (calls already in flight may still finish after a kill; they do not count);
 *   rate back     — the end of the last 250 ms interval in which acknowledgements fell below
 *                   half the pre-fault rate (0 if they never did; null if still below at the end).
 */
import { BUCKET_MS, type EpisodeLoadFigures } from '../results/faults.js';
import type { Attempt, Write } from './faults-load.js';

/** Where an episode sits on the load's clock (performance.now()). */
export interface EpisodeClock {
  startedAt: number;
  faultAt: number;
  /** When a lasting fault (datagram loss) was lifted; the same as faultAt for an instant one. */
  healedAt: number;
  endedAt: number;
}

export function loadFigures(clock: EpisodeClock, attempts: Attempt[], writes: Write[]): EpisodeLoadFigures {
  const { startedAt, faultAt, endedAt } = clock;
  const sent = attempts.filter((a) => a.sentAt >= startedAt && a.sentAt < endedAt);
  const failed = sent.filter((a) => a.outcome !== 'OK');
  const errorCodes: Record<string, number> = {};
  for (const a of failed) errorCodes[a.outcome] = (errorCodes[a.outcome] ?? 0) + 1;
  const started = writes.filter((w) => w.firstSentAt >= startedAt && w.firstSentAt < endedAt);

  const buckets = Math.floor((endedAt - startedAt) / BUCKET_MS); // whole intervals only
  const acks = new Array<number>(buckets).fill(0);
  const errors = new Array<number>(buckets).fill(0);
  for (const a of attempts) {
    const i = Math.floor((a.settledAt - startedAt) / BUCKET_MS);
    if (i < 0 || i >= buckets) continue;
    if (a.outcome === 'OK') acks[i]!++;
    else errors[i]!++;
  }
  const preBuckets = Math.floor((faultAt - startedAt) / BUCKET_MS);
  const preAcks = acks.slice(0, preBuckets).reduce((sum, n) => sum + n, 0);
  const preFaultRate = preBuckets === 0 ? 0 : preAcks / ((preBuckets * BUCKET_MS) / 1000);

  const firstSuccess = attempts
    .filter((a) => a.outcome === 'OK' && a.sentAt >= faultAt)
    .reduce((min, a) => Math.min(min, a.settledAt), Infinity);

  return {
    calls: sent.length,
    errors: failed.length,
    errorCodes,
    writes: started.length,
    acknowledged: started.filter((w) => w.postId !== undefined).length,
    gaveUp: started.filter((w) => w.gaveUp !== undefined).length,
    preFaultRate,
    firstSuccessAfterMs: Number.isFinite(firstSuccess) ? firstSuccess - faultAt : null,
    rateBackAfterMs: rateBackAfter(acks, preBuckets, faultAt - startedAt, preFaultRate),
    timeline: { acks, errors },
  };
}

function rateBackAfter(acks: number[], firstAfter: number, faultOffsetMs: number, preFaultRate: number): number | null {
  const floor = (preFaultRate * BUCKET_MS) / 1000 / 2;
  let lastLow = -1;
  for (let i = firstAfter; i < acks.length; i++) if (acks[i]! < floor) lastLow = i;
  if (lastLow === -1) return 0;
  if (lastLow === acks.length - 1) return null;
  return Math.max(0, (lastLow + 1) * BUCKET_MS - faultOffsetMs);
}
