/** GET /api/search?q= → 200 {posts, users}: posts matching every word, people whose name starts with q. */
import { apiRoute, apiViewer, invalid, json } from '../../../lib/api';
import { peoplePrefixOf, searchQueryOf } from '../../../lib/input';
import { servicesFor } from '../../../lib/services';

export const dynamic = 'force-dynamic';

export const GET = apiRoute(async (request) => {
  const query = searchQueryOf(request.nextUrl.searchParams.get('q'));
  if (!query) throw invalid('Say what to search for: /api/search?q=words');
  const action = `search “${query.slice(0, 40)}”`;
  const call = (await apiViewer(request, action))?.call ?? servicesFor(action);
  const prefix = peoplePrefixOf(query);
  const [found, users] = await Promise.all([
    call.posts.search({ query }),
    prefix ? call.auth.findUsers({ prefix, limit: 10 }).then((r) => r.users) : Promise.resolve([]),
  ]);
  return json(200, { posts: found.posts, users });
});
