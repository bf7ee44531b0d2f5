/**
 * Paging a timeline both ways: "Newer posts" back towards the top (or "Newest posts" when the
 * next step up is the top itself), "Older posts" down.
 */
import Link from 'next/link';

interface Props {
  /** The timeline's own path: / or /u/name. */
  path: string;
  /** Whether this page was paged into (not the newest). */
  paged: boolean;
  page: { nextCursor?: string | undefined; newerCursor?: string | undefined };
}

export function TimelinePager({ path, paged, page }: Props) {
  const at = (param: string, cursor: string) => `${path}?${param}=${encodeURIComponent(cursor)}`;
  if (!paged && !page.nextCursor) return null;
  return (
    <nav className="pager" aria-label="Pages">
      {page.newerCursor ? (
        <Link href={at('newer', page.newerCursor)}>Newer posts</Link>
      ) : paged ? (
        <Link href={path}>Newest posts</Link>
      ) : null}
      {page.nextCursor ? <Link href={at('cursor', page.nextCursor)}>Older posts</Link> : null}
    </nav>
  );
}
