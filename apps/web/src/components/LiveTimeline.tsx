'use client';
/**
 * The home timeline, kept live: the server renders the latest page, and this component holds
 * a WebSocket to notify. notify says `{"type":"hello","user":…}` on connect, then
 * `{"type":"post","post":…,"traceId":…}` per new post of someone the viewer follows (or their
 * own) and `{"type":"post.deleted","postId":…}` when one is deleted, which drops it from view.
 *
 * A new post goes on top (once, by id) when the viewer is at the top of the page. When they
 * have scrolled down to read, it waits behind an "N new posts" button instead of shifting the
 * page under them; the button shows them and goes to the top, and scrolling back up by hand
 * shows them too. Either way a polite live region tells screen readers, one sentence per arrival.
 *
 * When the socket closes (notify restarted, network gone) it reconnects with exponential
 * backoff and jitter, and once back it refreshes the page's data so posts sent while it was
 * away are not missed. A small badge says which.
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
  /** The viewer: their own posts can be deleted. */
  viewerId: string;
  /** Keep at most this many pushed posts in memory. */
  keep?: number;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;
/** Scrolled further down than this, the viewer is reading: new posts wait behind the button. */
const READING_BELOW_PX = 120;

export function LiveTimeline({ initial, notifyUrl, token, viewerId, keep = 200 }: Props) {
  const [pushed, setPushed] = useState<Post[]>([]);
  const [waiting, setWaiting] = useState<Post[]>([]);
  const [deleted, setDeleted] = useState<ReadonlySet<string>>(new Set());
  const [announcement, setAnnouncement] = useState('');
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
    const add = (post: Post) => (list: Post[]) =>
      list.some((p) => p.id === post.id) ? list : [post, ...list].slice(0, keep);

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
          if (window.scrollY > READING_BELOW_PX) {
            setWaiting(add(post));
            setAnnouncement(`New post from @${post.authorUsername}, waiting at the top of the timeline.`);
          } else {
            setPushed(add(post));
            setAnnouncement(`New post from @${post.authorUsername}: ${post.text}`);
          }
        } else if (data?.type === 'post.deleted' && typeof data.postId === 'string') {
          const id = data.postId;
          setDeleted((ids) => new Set(ids).add(id));
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

  /** The waiting posts into the list; from the button, to the top of the page too. */
  const showWaiting = (scrollUp: boolean) => {
    setPushed((list) => [...waiting, ...list].slice(0, keep));
    setWaiting([]);
    if (scrollUp) window.scrollTo({ top: 0 });
  };

  // A reader back at the top by themself sees the waiting posts at once.
  useEffect(() => {
    if (waiting.length === 0) return;
    const onScroll = () => {
      if (window.scrollY <= READING_BELOW_PX) showWaiting(false);
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  });

  const seen = new Set<string>(deleted);
  const fresh = new Set(pushed.map((p) => p.id));
  // Newest first by when they were posted, not by when they arrived: UDP and HTTP deliver
  // events in no particular order.
  const posts = [...pushed, ...initial].filter((p) => !seen.has(p.id) && seen.add(p.id)).sort(newestFirst);
  const held = waiting.filter((p) => !seen.has(p.id)).length;

  return (
    <section aria-labelledby="timeline-heading" className="timeline">
      <div className="timeline-head">
        <h2 id="timeline-heading">Home timeline</h2>
        <span className={`live-badge ${status}`} role="status" data-testid="live-status">
          {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </div>
      <p className="visually-hidden" aria-live="polite" data-testid="announcer">
        {announcement}
      </p>
      {held > 0 ? (
        <button type="button" className="new-posts" onClick={() => showWaiting(true)} data-testid="new-posts">
          {held === 1 ? '1 new post' : `${held} new posts`}
        </button>
      ) : null}
      {posts.length === 0 ? (
        <p className="empty">Nothing here yet. Post something, or follow people to see their posts.</p>
      ) : (
        <ol className="posts">
          {posts.map((post) => (
            <PostItem
              key={post.id}
              post={post}
              viewerId={viewerId}
              fresh={fresh.has(post.id) && !initial.some((p) => p.id === post.id)}
            />
          ))}
        </ol>
      )}
    </section>
  );
}

function newestFirst(a: Post, b: Post): number {
  return b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function parse(raw: unknown): { type?: unknown; post?: unknown; postId?: unknown } | undefined {
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
