/**
 * Search: posts matching every word (posts.search, full text) and people whose username
 * starts with the query (auth.findUsers), side by side. Works logged in or not.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { PostList } from '../../components/PostList';
import { Problem } from '../../components/Problem';
import { attempt } from '../../lib/attempt';
import { peoplePrefixOf, searchQueryOf } from '../../lib/input';
import { servicesFor } from '../../lib/services';
import { pageViewer } from '../../lib/session';

export const metadata: Metadata = { title: 'Search' };

export default async function SearchPage({ searchParams }: { searchParams: Promise<{ q?: string | string[] }> }) {
  const { q } = await searchParams;
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
      {query ? <Results query={query} /> : <p className="muted">Search posts by their words, or people by name.</p>}
    </>
  );
}

async function Results({ query }: { query: string }) {
  const prefix = peoplePrefixOf(query);
  const found = await attempt(async () => {
    const viewer = await pageViewer(`search “${query.slice(0, 40)}”`);
    const call = viewer?.call ?? servicesFor('search');
    const [posts, people] = await Promise.all([
      call.posts.search({ query }),
      prefix ? call.auth.findUsers({ prefix, limit: 10 }).then((r) => r.users) : Promise.resolve([]),
    ]);
    return { posts, people, viewerId: viewer?.user.id };
  });
  if (!found.ok) return <Problem title="Search failed" message={found.message} />;
  const { posts, people, viewerId } = found.value;

  return (
    <div className="results">
      <section aria-labelledby="people-heading">
        <h2 id="people-heading">People</h2>
        {people.length === 0 ? (
          <p className="empty">Nobody by that name.</p>
        ) : (
          <ul className="people">
            {people.map((user) => (
              <li key={user.id}>
                <Link href={`/u/${encodeURIComponent(user.username)}`}>@{user.username}</Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="posts-heading">
        <h2 id="posts-heading">Posts</h2>
        <PostList posts={posts.posts} empty="No posts match." viewerId={viewerId} />
      </section>
    </div>
  );
}
