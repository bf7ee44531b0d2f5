/**
 * Search: posts matching every word (posts.search, full text) and people whose username
 * starts with the query (auth.findUsers), side by side, each a page at a time, people with
 * follow buttons. Works logged in or not.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { PeopleList } from '../../components/PeopleList';
import { PostList } from '../../components/PostList';
import { Problem } from '../../components/Problem';
import { attempt } from '../../lib/attempt';
import { cursorOf, peoplePrefixOf, searchQueryOf } from '../../lib/input';
import { asPeople } from '../../lib/people';
import { servicesFor } from '../../lib/services';
import { pageViewer } from '../../lib/session';

export const metadata: Metadata = { title: 'Search' };

/** People shown per page of results. */
const PEOPLE_PAGE = 10;

interface Props {
  searchParams: Promise<{ q?: string | string[]; cursor?: string | string[]; after?: string | string[] }>;
}

export default async function SearchPage({ searchParams }: Props) {
  const { q, cursor, after } = await searchParams;
  const query = searchQueryOf(q);

  return (
    <>
      <h1>Search</h1>
      <form action="/search" method="get" role="search" className="search-form">
        <label htmlFor="search-q">Posts and people</label>
        <div className="inline">
          <input id="search-q" name="q" type="search" defaultValue={query} maxLength={200} />
          <button type="submit">Search</button>
        </div>
      </form>
      {query ? (
        <Results query={query} cursor={cursorOf(cursor) ?? undefined} after={peoplePrefixOf(String(after ?? ''))} />
      ) : (
        <p className="muted">Search posts by their words, or people by name.</p>
      )}
    </>
  );
}

/**
 * One page of each: `cursor` pages the posts, `after` (a username) the people; the "More" link
 * of each section moves that section on and starts the other afresh.
 */
async function Results({ query, cursor, after }: { query: string; cursor?: string; after?: string }) {
  const prefix = peoplePrefixOf(query);
  const found = await attempt(async () => {
    const viewer = await pageViewer(`search “${query.slice(0, 40)}”`);
    const call = viewer?.call ?? servicesFor('search');
    const [posts, people] = await Promise.all([
      call.posts.search({ query, ...(cursor ? { cursor } : {}) }),
      prefix ? call.auth.findUsers({ prefix, limit: PEOPLE_PAGE, ...(after ? { after } : {}) }) : undefined,
    ]);
    return {
      posts,
      people: await asPeople(call, viewer?.user.id, people?.users ?? []),
      morePeople: people?.next,
      viewerId: viewer?.user.id,
    };
  });
  if (!found.ok) return <Problem title="Search failed" message={found.message} />;
  const { posts, people, morePeople, viewerId } = found.value;
  const more = (param: string, value: string) =>
    `/search?q=${encodeURIComponent(query)}&${param}=${encodeURIComponent(value)}`;

  return (
    <div className="results">
      <section aria-labelledby="people-heading">
        <h2 id="people-heading">People</h2>
        <PeopleList people={people} empty="Nobody by that name." viewerId={viewerId} />
        {morePeople ? (
          <p className="pager">
            <Link href={more('after', morePeople)}>More people</Link>
          </p>
        ) : null}
      </section>
      <section aria-labelledby="posts-heading">
        <h2 id="posts-heading">Posts</h2>
        <PostList posts={posts.posts} empty="No posts match." viewerId={viewerId} />
        {posts.nextCursor ? (
          <p className="pager">
            <Link href={more('cursor', posts.nextCursor)}>More posts</Link>
          </p>
        ) : null}
      </section>
    </div>
  );
}
