'use client';
/**
 * The home timeline, kept live: the server renders the latest page, and this component holds
 * a WebSocket to notify, putting each pushed post of someone the viewer follows at the top
 * (once, by id). notify says `{"type":"hello","user":…}` on connect, then
 * `{"type":"post","post":…,"traceId":…}` per post. When the socket closes (notify restarted,
 * network gone) it reconnects with exponential backoff and jitter, and once back it refreshes
 * the page's data so posts sent while it was away are not missed. A small badge says which.
 */
import { useEffect, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import type { Post } from '@chirp/contracts';
import { PostItem } from './PostList';

type Status = 'connecting' | 'live' | 'reconnecting';

interface Props {
  initial: Post[];
  notifyUrl: string;
  /** Only when the session cookie cannot reach notify (see lib/live.ts). */
  token?: string;
  /** Keep at most this many pushed posts in memory. */
  keep?: number;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;

export function LiveTimeline({ initial, notifyUrl, token, keep = 200 }: Props) {
  const [pushed, setPushed] = useState<Post[]>([]);
  const [status, setStatus] = useState<Status>('connecting');
  const router = useRouter();
  const refresh = useRef(() => router.refresh());
  refresh.current = () => router.refresh();

  useEffect(() => {
    let socket: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let everLive = false;
    let stopped = false;

    const connect = () => {
      const url = new URL(notifyUrl);
      if (token) url.searchParams.set('token', token);
      socket = new WebSocket(url);
      socket.onmessage = (message) => {
        const data = parse(message.data);
        if (data?.type === 'hello') {
          failures = 0;
          setStatus('live');
          if (everLive) refresh.current(); // catch up on what was posted while away
          everLive = true;
        } else if (data?.type === 'post' && isPost(data.post)) {
          const post = data.post;
          setPushed((list) => (list.some((p) => p.id === post.id) ? list : [post, ...list].slice(0, keep)));
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        setStatus('reconnecting');
        const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures);
        failures += 1;
        retry = setTimeout(connect, backoff / 2 + Math.random() * (backoff / 2));
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, [notifyUrl, token, keep]);

  const seen = new Set<string>();
  const fresh = new Set(pushed.map((p) => p.id));
  const posts = [...pushed, ...initial].filter((p) => !seen.has(p.id) && seen.add(p.id));

  return (
    <section aria-labelledby="timeline-heading" className="timeline">
      <div className="timeline-head">
        <h2 id="timeline-heading">Home timeline</h2>
        <span className={`live-badge ${status}`} role="status" data-testid="live-status">
          {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </div>
      {posts.length === 0 ? (
        <p className="empty">Nothing here yet. Post something, or follow people to see their posts.</p>
      ) : (
        <ol className="posts" aria-live="polite">
          {posts.map((post) => (
            <PostItem key={post.id} post={post} fresh={fresh.has(post.id) && !initial.some((p) => p.id === post.id)} />
          ))}
        </ol>
      )}
    </section>
  );
}

function parse(raw: unknown): { type?: unknown; post?: unknown } | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function isPost(value: unknown): value is Post {
  const p = value as Partial<Record<keyof Post, unknown>> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.id === 'string' &&
    typeof p.authorId === 'string' &&
    typeof p.authorUsername === 'string' &&
    typeof p.text === 'string' &&
    typeof p.createdAt === 'string' &&
    !Number.isNaN(Date.parse(p.createdAt))
  );
}
