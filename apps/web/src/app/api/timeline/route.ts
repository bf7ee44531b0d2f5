/** GET /api/timeline?cursor= → 200 {posts, nextCursor?}: the caller's home timeline, newest first. */
import { apiRoute, invalid, json, requireApiViewer } from '../../../lib/api';
import { cursorOf } from '../../../lib/input';

export const dynamic = 'force-dynamic';

export const GET = apiRoute(async (request) => {
  const cursor = cursorOf(request.nextUrl.searchParams.get('cursor'));
  if (cursor === null) throw invalid('That cursor is not one of ours: use the nextCursor of the page before.');
  const viewer = await requireApiViewer(request, cursor ? 'view older home posts' : 'view home');
  const page = await viewer.call.posts.homeTimeline({ userId: viewer.user.id, ...(cursor ? { cursor } : {}) });
  return json(200, page);
});
