/**
 * The open WebSocket sessions of this replica, by user (one user may have several tabs) and
 * by session id (a log-out closes one session's tabs), and the one way anything is sent to them.
 *
 * A slow browser must never slow down the others, so a send is fire-and-forget: the
 * frame is queued on that socket and nobody waits for it to drain. What a socket may
 * queue is bounded: one whose bufferedAmount (bytes queued in ws and in its net.Socket)
 * is already over `maxBufferedBytes` when the next frame comes is terminated instead, so
 * a socket holds at most the limit plus one frame. Terminated, not closed: a close frame
 * would only queue behind everything the client is not reading. The browser sees an
 * abnormal close (1006) and reconnects; the posts it missed are in its timeline.
 */
import { createHash } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace as tracing, type Context } from '@opentelemetry/api';
import { WebSocket } from 'ws';
import type { User } from '@chirp/contracts';
import type { Logger } from '@chirp/transport';

const tracer = tracing.getTracer('@chirp/notify');

export interface Session {
  readonly socket: WebSocket;
  readonly user: User;
  /** The session token it connected with, re-verified periodically. */
  readonly token: string;
  /** How auth's session.revoked names the session (see sessionIdOf). */
  readonly sessionId: string;
  /** Whether it answered the last heartbeat ping (true on connect). */
  alive: boolean;
}

/** Counters since start, logged by the gateway. */
export interface SessionStats {
  connected: number;
  framesSent: number;
  droppedSlow: number;
  droppedDead: number;
  revoked: number;
  /** Handshakes refused because the user already had the most sockets allowed. */
  refusedOverCap: number;
}

/** A socket closed because its session ended (log-out, expiry): the browser should not reconnect with it. */
export const SESSION_ENDED_CODE = 4001;

/** The id session.revoked names a session by (the contract's rule): a hash of its token, not the one auth stores. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update('chirp session id\0').update(token).digest('hex');
}

export class Sessions {
  readonly stats: SessionStats = {
    connected: 0,
    framesSent: 0,
    droppedSlow: 0,
    droppedDead: 0,
    revoked: 0,
    refusedOverCap: 0,
  };
  readonly #byUser = new Map<string, Set<Session>>();
  readonly #bySession = new Map<string, Set<Session>>();
  readonly #maxBufferedBytes: number;
  readonly #logger: Logger;
  #count = 0;

  constructor(maxBufferedBytes: number, logger: Logger) {
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#logger = logger;
  }

  get size(): number {
    return this.#count;
  }

  /** How many sockets `userId` has open here. */
  countOf(userId: string): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  add(session: Session): void {
    let own = this.#byUser.get(session.user.id);
    if (own === undefined) {
      own = new Set();
      this.#byUser.set(session.user.id, own);
    }
    own.add(session);
    let tabs = this.#bySession.get(session.sessionId);
    if (tabs === undefined) {
      tabs = new Set();
      this.#bySession.set(session.sessionId, tabs);
    }
    tabs.add(session);
    this.#count++;
    this.stats.connected++;
  }

  remove(session: Session): void {
    const own = this.#byUser.get(session.user.id);
    if (own?.delete(session) !== true) return;
    this.#count--;
    if (own.size === 0) this.#byUser.delete(session.user.id);
    const tabs = this.#bySession.get(session.sessionId);
    tabs?.delete(session);
    if (tabs?.size === 0) this.#bySession.delete(session.sessionId);
  }

  /** Close every socket opened with the session `sessionId`; returns how many. */
  endSession(sessionId: string): number {
    const ended = [...(this.#bySession.get(sessionId) ?? [])];
    for (const session of ended) this.end(session);
    return ended.length;
  }

  /** Close one socket whose session has ended, with 4001. */
  end(session: Session): void {
    this.stats.revoked++;
    this.remove(session);
    session.socket.close(SESSION_ENDED_CODE, 'session ended');
  }

  /** Every open session (a snapshot: safe while sessions close). */
  all(): Session[] {
    const out: Session[] = [];
    for (const own of this.#byUser.values()) out.push(...own);
    return out;
  }

  /**
   * Queue `frame` on every session of every user in `userIds`; returns how many sockets got it.
   * Each push is a span in `trace` (the event's delivery), ending once the frame has left for
   * the kernel: the last hop of a post's trace, from the author's click to a follower's socket.
   */
  push(userIds: Iterable<string>, frame: Buffer, trace: Context): number {
    let sent = 0;
    for (const userId of userIds) {
      const own = this.#byUser.get(userId);
      if (own === undefined) continue;
      for (const session of own) if (this.send(session, frame, trace)) sent++;
    }
    return sent;
  }

  /** Queue one text frame on one socket, or drop the socket if it is not keeping up. */
  send(session: Session, frame: Buffer | string, trace?: Context): boolean {
    const { socket } = session;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.#maxBufferedBytes) {
      this.stats.droppedSlow++;
      this.#logger.warn(
        {
          traceId: trace && tracing.getSpanContext(trace)?.traceId,
          userId: session.user.id,
          bufferedBytes: socket.bufferedAmount,
          limit: this.#maxBufferedBytes,
        },
        'notify: dropped a socket that is not reading (over its send buffer limit)',
      );
      this.remove(session);
      socket.terminate();
      return false;
    }
    if (trace === undefined) {
      socket.send(frame, { binary: false });
    } else {
      const span = tracer.startSpan('push post', { kind: SpanKind.PRODUCER }, trace);
      if (span.isRecording()) {
        span.setAttributes({
          'messaging.system': 'websocket',
          'messaging.operation.type': 'send',
          'messaging.message.body.size': frame.length,
          'chirp.user.id': session.user.id,
        });
      }
      socket.send(frame, { binary: false }, (err) => {
        if (err) span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.end();
      });
    }
    this.stats.framesSent++;
    return true;
  }
}
