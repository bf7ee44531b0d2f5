/** GET /api/me → 200 {user}: who the session belongs to; 401 without one. */
import { apiRoute, json, requireApiViewer } from '../../../lib/api';

export const dynamic = 'force-dynamic';

export const GET = apiRoute(async (request) => {
  const { user } = await requireApiViewer(request, 'who am I');
  return json(200, { user });
});
