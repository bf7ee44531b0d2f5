/**
 * What the bare baselines share: the message they exchange and a minimal table of calls
 * awaiting their reply. A baseline does the least an RPC must do — serialise the payload
 * as JSON, match the reply to its call, give up on a call that never gets one — and
 * nothing else: no envelope checks, no trace ids, no per-call timer (one sweep every
 * 100 ms fails calls past the deadline, so a lost datagram is counted, not waited for).
 *
 *   request  {"id": 17, "method": "echo", "payload": …}
 *   reply    {"id": 17, "result": …}   or   {"id": 17, "error": "…"}
 */
import { answer } from './target.js';

export interface WireRequest {
  id: number;
  method: string;
  payload: unknown;
}

export interface WireReply {
  id: number;
  result?: unknown;
  error?: string;
}

/** Server side: a request's text to its reply's text. */
export function replyTo(text: string): string {
  const request = JSON.parse(text) as WireRequest;
  try {
    return JSON.stringify({ id: request.id, result: answer(request.method, request.payload) } satisfies WireReply);
  } catch (err) {
    return JSON.stringify({ id: request.id, error: (err as Error).message } satisfies WireReply);
  }
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  sentAt: number;
}

const SWEEP_EVERY_MS = 100;

export class PendingCalls {
  readonly #waiting = new Map<number, Waiting>();
  readonly #timeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;
  #nextId = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  /** A new call: its id, and the promise of its result. */
  open(): { id: number; reply: Promise<unknown> } {
    const id = this.#nextId++;
    const reply = new Promise<unknown>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, sentAt: Date.now() });
    });
    return { id, reply };
  }

  /** A reply's text: settles its call (a late or unknown id is ignored). */
  settle(text: string): void {
    const reply = JSON.parse(text) as WireReply;
    this.settleParsed(reply);
  }

  settleParsed(reply: WireReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined) return;
    this.#waiting.delete(reply.id);
    if (reply.error === undefined) waiting.resolve(reply.result);
    else waiting.reject(new Error(reply.error));
  }

  fail(id: number, error: Error): void {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    waiting.reject(error);
  }

  close(error: Error): void {
    clearInterval(this.#sweeper);
    for (const [id] of this.#waiting) this.fail(id, error);
  }

  /** Calls are in the map in the order they were sent: stop at the first still in time. */
  #sweep(): void {
    const expired = Date.now() - this.#timeoutMs;
    for (const [id, waiting] of this.#waiting) {
      if (waiting.sentAt > expired) break;
      this.fail(id, Object.assign(new Error(`no reply within ${this.#timeoutMs} ms`), { code: 'DEADLINE_EXCEEDED' }));
    }
  }
}
