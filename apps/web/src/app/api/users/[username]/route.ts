/**
 * GET /api/users/:username → 200 {user, followers, following, youFollow}: an account, its
 * follower and followee counts, and whether the caller follows it (false when logged out,
 * and for oneself). 404 when there is nobody by that name.
 */
import { apiRoute, apiViewer, json, notFound } from '../../../../lib/api';
import { servicesFor } from '../../../../lib/services';
import { userNamed } from '../../../../lib/users';

export const dynamic = 'force-dynamic';

export const GET = apiRoute<{ username: string }>(async (request, { username }) => {
  const action = `view @${username}`;
  const viewer = await apiViewer(request, action);
  const call = viewer?.call ?? servicesFor(action);
  const user = await userNamed(call, username);
  if (user === undefined) throw notFound(`Nobody is called @${username}.`);
  const [counts, youFollow] = await Promise.all([
    call.follows.counts({ userId: user.id }),
    viewer !== null && viewer.user.id !== user.id
      ? call.follows.isFollowing({ followerId: viewer.user.id, followeeId: user.id }).then((r) => r.following)
      : Promise.resolve(false),
  ]);
  return json(200, { user, followers: counts.followers, following: counts.following, youFollow });
});
