/** POST /api/login {username, password} → 200 {user, token, expiresAt}, and the session cookie. */
import { ApiError, apiRoute, invalid, json, readJson, textField } from '../../../lib/api';
import { ServiceError } from '../../../lib/errors';
import { LOG_IN_WORDS, logInProblem } from '../../../lib/input';
import { servicesFor } from '../../../lib/services';
import { startSession } from '../../../lib/session';
import { recordAction } from '../../../lib/traces';

export const dynamic = 'force-dynamic';

/** The same answer for an unknown username and a wrong password (auth makes them take as long, too). */
const wrongCredentials = () => new ApiError(401, 'UNAUTHENTICATED', LOG_IN_WORDS.wrong);

export const POST = apiRoute(async (request) => {
  const body = await readJson(request);
  const username = textField(body, 'username').trim();
  const password = textField(body, 'password');
  const problem = logInProblem(username, password);
  if (problem === 'missing') throw invalid(LOG_IN_WORDS.missing);
  if (problem === 'wrong') throw wrongCredentials();
  const call = servicesFor('log in');
  try {
    const session = await call.auth.logIn({ username, password });
    recordAction(session.token, call.trace);
    await startSession(session.token, session.expiresAt);
    return json(200, session);
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'UNAUTHENTICATED') throw wrongCredentials();
    throw err;
  }
});
