/** GET /api/users/:username/posts?cursor= → 200 {posts, nextCursor?}: their posts, newest first; 404 for nobody. */
import { apiRoute, apiViewer, invalid, json, notFound } from '../../../../../lib/api';
import { cursorOf } from '../../../../../lib/input';
import { servicesFor } from '../../../../../lib/services';
import { userNamed } from '../../../../../lib/users';

export const dynamic = 'force-dynamic';

export const GET = apiRoute<{ username: string }>(async (request, { username }) => {
  const cursor = cursorOf(request.nextUrl.searchParams.get('cursor'));
  if (cursor === null) throw invalid('That cursor is not one of ours: use the nextCursor of the page before.');
  const action = `view @${username}`;
  const call = (await apiViewer(request, action))?.call ?? servicesFor(action);
  const user = await userNamed(call, username);
  if (user === undefined) throw notFound(`Nobody is called @${username}.`);
  const page = await call.posts.userTimeline({ userId: user.id, ...(cursor ? { cursor } : {}) });
  return json(200, page);
});
