/** Any other /api/… path: a JSON 404 rather than the site's HTML page. */
import { apiRoute, notFound } from '../../../lib/api';

export const dynamic = 'force-dynamic';

const unknownRoute = apiRoute<{ path: string[] }>(async (request) => {
  throw notFound(`There is no API at ${request.nextUrl.pathname}.`);
});

export { unknownRoute as GET, unknownRoute as POST, unknownRoute as PUT, unknownRoute as DELETE };
