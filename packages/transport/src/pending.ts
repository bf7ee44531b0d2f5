import { TransportError } from './errors.js';

/**
 * Requests sent and not yet answered, keyed by request id. Each entry owns its deadline
 * timer and removes itself when settled, so a late reply for a timed-out request is simply
 * not found. Shared by every transport that matches replies to requests itself.
 */
export class PendingRequests<Tag = unknown> {
  readonly #entries = new Map<string, Entry<Tag>>();

  get size(): number {
    return this.#entries.size;
  }

  /** Wait for the reply to `id`; rejects with DEADLINE_EXCEEDED after `timeoutMs`. */
  wait(id: string, timeoutMs: number, describe: string, tag: Tag, onSettle?: () => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reject(id, new TransportError('DEADLINE_EXCEEDED', `${describe}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#entries.set(id, { resolve, reject, timer, tag, onSettle });
    });
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  resolve(id: string, value: unknown): boolean {
    const entry = this.#take(id);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(id: string, error: Error): boolean {
    const entry = this.#take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Reject every request whose tag matches, e.g. those sent on a connection that died. */
  rejectWhere(match: (tag: Tag) => boolean, error: Error): void {
    for (const [id, entry] of this.#entries) {
      if (match(entry.tag)) this.reject(id, error);
    }
  }

  rejectAll(error: Error): void {
    this.rejectWhere(() => true, error);
  }

  #take(id: string): Entry<Tag> | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    clearTimeout(entry.timer);
    entry.onSettle?.();
    return entry;
  }
}

interface Entry<Tag> {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  tag: Tag;
  onSettle: (() => void) | undefined;
}
