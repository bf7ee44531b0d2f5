/**
 * The UDP client's retransmission schedule: one timer for every unanswered request, rather
 * than a setTimeout per request (arming and clearing one per call, and its garbage, showed
 * in the client's profile).
 *
 * A request waits RETRANSMIT_FIRST_MS before its first retransmission, then twice as long
 * each time up to RETRANSMIT_MAX_MS. Every request in the same backoff step waits the same
 * delay, so a queue per step (a Map, in insertion order) is already ordered by due time:
 * the timer is armed for the earliest head, and when it fires only due heads are visited.
 *
 *   step 0: 50 ms ─▶ step 1: 100 ms ─▶ … ─▶ step 5: 1,000 ms ⟲
 *
 * An answered request is removed by its id; one that failed otherwise (deadline, refusal,
 * close) is dropped when it comes due and `resend` says it is no longer wanted.
 */
import { performance } from 'node:perf_hooks';

export interface Outgoing<Peer> {
  id: string;
  peer: Peer;
  datagram: Buffer;
  step: number;
  /** performance.now() ms at which to send again. */
  dueAt: number;
  /** Sent again at once after a retry with a new cookie (address-check.ts), this many times. */
  challenges: number;
}

export class RetransmitSchedule<Peer> {
  readonly #delays: number[];
  readonly #steps: Map<string, Outgoing<Peer>>[];
  /** Send `entry` again; false when it is no longer pending (it is then forgotten). */
  readonly #resend: (entry: Outgoing<Peer>) => boolean;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(firstMs: number, maxMs: number, resend: (entry: Outgoing<Peer>) => boolean) {
    const delays = [firstMs];
    while (delays.at(-1)! < maxMs) delays.push(Math.min(delays.at(-1)! * 2, maxMs));
    this.#delays = delays;
    this.#steps = delays.map(() => new Map());
    this.#resend = resend;
  }

  /** Schedule the first retransmission of a datagram just sent. */
  add(id: string, peer: Peer, datagram: Buffer): void {
    const dueAt = performance.now() + this.#delays[0]!;
    this.#steps[0]!.set(id, { id, peer, datagram, step: 0, dueAt, challenges: 0 });
    if (dueAt < this.#timerAt) this.#arm(dueAt);
  }

  /** The entry of a request still being retransmitted. */
  get(id: string): Outgoing<Peer> | undefined {
    for (const step of this.#steps) {
      const entry = step.get(id);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  /** The request was answered: no more retransmissions. */
  remove(id: string): void {
    for (const step of this.#steps) if (step.delete(id)) return;
  }

  clear(): void {
    for (const step of this.#steps) step.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const last = this.#delays.length - 1;
    // Collected first: a resent entry may move into the step being walked (the last one).
    const due: Outgoing<Peer>[] = [];
    for (const step of this.#steps) {
      for (const entry of step.values()) {
        if (entry.dueAt > now) break;
        due.push(entry);
      }
      for (const entry of due) step.delete(entry.id);
      for (const entry of due) {
        if (!this.#resend(entry)) continue;
        entry.step = Math.min(entry.step + 1, last);
        entry.dueAt = now + this.#delays[entry.step]!;
        this.#steps[entry.step]!.set(entry.id, entry);
      }
      due.length = 0;
    }
    let next = Infinity;
    for (const step of this.#steps) {
      const head = step.values().next();
      if (!head.done && head.value.dueAt < next) next = head.value.dueAt;
    }
    if (next < Infinity) this.#arm(next);
  }
}
