/**
 * POST /api/logout → 204: revokes the session at auth (a copy of the token stops working at
 * once, and notify closes the session's live sockets) and clears the cookie. Without a session
 * there is nothing to revoke: 204 as well.
 */
import { apiRoute, noContent, requestToken } from '../../../lib/api';
import { servicesFor } from '../../../lib/services';
import { endSession } from '../../../lib/session';
import { forgetSession } from '../../../lib/traces';

export const dynamic = 'force-dynamic';

export const POST = apiRoute(async (request) => {
  const token = requestToken(request);
  await endSession();
  if (token !== undefined) {
    // If auth cannot be reached the caller hears so (503): the token would still work.
    await servicesFor('log out').auth.logOut({ token });
    forgetSession(token);
  }
  return noContent();
});
