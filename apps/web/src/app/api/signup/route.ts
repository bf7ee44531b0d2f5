/** POST /api/signup {username, password, idempotencyKey?} → 201 {user, token, expiresAt}, and the session cookie. */
import { randomUUID } from 'node:crypto';
import { ApiError, apiRoute, invalid, json, optionalTextField, readJson, textField } from '../../../lib/api';
import { ServiceError } from '../../../lib/errors';
import { signUpProblem } from '../../../lib/input';
import { servicesFor } from '../../../lib/services';
import { startSession } from '../../../lib/session';
import { recordAction } from '../../../lib/traces';

export const dynamic = 'force-dynamic';

export const POST = apiRoute(async (request) => {
  const body = await readJson(request);
  const username = textField(body, 'username').trim();
  const password = textField(body, 'password');
  const problem = signUpProblem(username, password);
  if (problem !== undefined) throw invalid(problem);
  const call = servicesFor('sign up');
  try {
    await call.auth.signUp({
      username,
      password,
      idempotencyKey: optionalTextField(body, 'idempotencyKey') ?? randomUUID(),
    });
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'ALREADY_EXISTS') {
      throw new ApiError(409, 'ALREADY_EXISTS', `The username ${username} is taken. Please choose another.`);
    }
    throw err;
  }
  const session = await call.auth.logIn({ username, password });
  recordAction(session.token, call.trace);
  await startSession(session.token, session.expiresAt);
  return json(201, session);
});
