/**
 * Followers watching their live timeline: one WebSocket per user to notify's `/ws`, signed
 * in with the `?token=` parameter (what a page on another host than notify gets, see
 * apps/web/src/lib/live.ts), counting the `{"type":"post"}` frames each socket receives.
 *
 * Deliveries are tallied per post: which sockets got it, and how many frames were a copy of
 * one a socket already had (a duplicated event). A post is `settle`d once its deliveries had
 * time to arrive: its tally is handed back and forgotten, so a long soak keeps only the
 * posts still in flight. A socket that closes is reopened after a second, as a browser's
 * live timeline does; what it missed meanwhile counts as missed.
 */
import WebSocket from 'ws';

export interface Watcher {
  token: string;
}

export interface Delivery {
  /** Distinct sockets that received the post. */
  received: number;
  /** Frames for the post beyond the first on the same socket. */
  duplicates: number;
}

const RECONNECT_MS = 1_000;
const CONNECTS_AT_ONCE = 20;

export class LiveFollowers {
  /** Sockets that closed while watching (each reopened). */
  disconnects = 0;
  frames = 0;
  readonly #url: string;
  readonly #sockets: (WebSocket | undefined)[] = [];
  readonly #deliveries = new Map<string, { sockets: Set<number>; duplicates: number }>();
  #closed = false;

  /** Open one socket per watcher (a few at a time: each handshake is a call to auth). */
  static async open(notifyUrl: string, watchers: Watcher[]): Promise<LiveFollowers> {
    const followers = new LiveFollowers(notifyUrl);
    try {
      for (let i = 0; i < watchers.length; i += CONNECTS_AT_ONCE) {
        const batch = watchers.slice(i, i + CONNECTS_AT_ONCE);
        await Promise.all(batch.map((w, j) => followers.#connect(i + j, w.token)));
      }
    } catch (err) {
      followers.close();
      throw err;
    }
    return followers;
  }

  private constructor(notifyUrl: string) {
    this.#url = notifyUrl;
  }

  get size(): number {
    return this.#sockets.length;
  }

  /** Sockets open right now. */
  get open(): number {
    return this.#sockets.filter((s) => s?.readyState === WebSocket.OPEN).length;
  }

  /** The tally of `postId` so far, which is then forgotten. */
  settle(postId: string): Delivery {
    const tally = this.#deliveries.get(postId);
    this.#deliveries.delete(postId);
    return { received: tally?.sockets.size ?? 0, duplicates: tally?.duplicates ?? 0 };
  }

  close(): void {
    this.#closed = true;
    for (const socket of this.#sockets) socket?.terminate();
  }

  #connect(index: number, token: string): Promise<void> {
    const url = `${this.#url}?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    this.#sockets[index] = socket;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.#received(index, data.toString());
    });
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.on('close', () => this.#reopen(index, token));
        resolve();
      });
      // Before the handshake completes this is a refusal (e.g. "Unexpected server response: 503").
      socket.once('error', (err) => reject(new Error(`notify WebSocket ${this.#url}: ${err.message}`)));
    });
  }

  #reopen(index: number, token: string, lost = true): void {
    if (this.#closed) return;
    if (lost) this.disconnects++;
    this.#sockets[index] = undefined;
    setTimeout(() => {
      if (this.#closed) return;
      this.#connect(index, token).catch(() => this.#reopen(index, token, false));
    }, RECONNECT_MS).unref();
  }

  #received(index: number, text: string): void {
    let frame: { type?: unknown; post?: { id?: unknown } };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    const postId = frame.post?.id;
    if (frame.type !== 'post' || typeof postId !== 'string') return;
    this.frames++;
    let tally = this.#deliveries.get(postId);
    if (tally === undefined) {
      tally = { sockets: new Set(), duplicates: 0 };
      this.#deliveries.set(postId, tally);
    }
    if (tally.sockets.has(index)) tally.duplicates++;
    else tally.sockets.add(index);
  }
}
