/**
 * PUT /api/follows/:username → 204: follow them. DELETE → 204: stop. Both idempotent (doing
 * it twice is the same as once). 404 for nobody by that name; 400 for following oneself.
 */
import { apiRoute, noContent, notFound, requireApiViewer } from '../../../../lib/api';
import { userNamed } from '../../../../lib/users';

export const dynamic = 'force-dynamic';

function changeFollow(change: 'follow' | 'unfollow') {
  return apiRoute<{ username: string }>(async (request, { username }) => {
    const viewer = await requireApiViewer(request, change);
    const followee = await userNamed(viewer.call, username);
    if (followee === undefined) throw notFound(`Nobody is called @${username}.`);
    await viewer.call.follows[change]({ followerId: viewer.user.id, followeeId: followee.id });
    return noContent();
  });
}

export const PUT = changeFollow('follow');
export const DELETE = changeFollow('unfollow');
