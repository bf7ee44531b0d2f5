/**
 * The JSON API's routes (README, "Web API"): each checks its input in words (lib/input.ts, the
 * same checks as the forms), calls the services through the traced clients of one action
 * (lib/services.ts) and answers JSON. Failures are thrown (http.ts answers them).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { httpStatusOf } from '@chirp/transport';
import { DELETE_REFUSED, ServiceError } from '../lib/errors.js';
import { clientAddressOf } from '../lib/forwarding.js';
import {
  LOG_IN_WORDS,
  logInProblem,
  peoplePrefixOf,
  postProblem,
  profileProblem,
  searchQueryOf,
  signUpProblem,
  timelinePageOf,
  type TimelinePage,
} from '../lib/input.js';
import { servicesFor } from '../lib/services.js';
import { forgetSession, recordAction } from '../lib/traces.js';
import { userNamed } from '../lib/users.js';
import { forgetVerified, viewerOfToken, type Viewer } from '../lib/viewer.js';
import {
  ApiError,
  invalid,
  json,
  noContent,
  notFound,
  optionalTextField,
  readJson,
  requestToken,
  textField,
  type ApiResponse,
} from './http.js';

export interface RouteRequest {
  raw: IncomingMessage;
  query: URLSearchParams;
  /** The path's parameters (`:username`), decoded. */
  params: Record<string, string>;
}

export type Route = (request: RouteRequest) => Promise<ApiResponse>;

/** The same answer for an unknown username and a wrong password (auth makes them take as long, too). */
const wrongCredentials = () => new ApiError(401, 'UNAUTHENTICATED', LOG_IN_WORDS.wrong);

/** POST /api/signup {username, password, idempotencyKey?} → 201 {user, token, expiresAt}, and the session cookie. */
export const signUp: Route = async ({ raw }) => {
  const body = await readJson(raw);
  const username = textField(body, 'username').trim();
  const password = textField(body, 'password');
  const problem = signUpProblem(username, password);
  if (problem !== undefined) throw invalid(problem);
  const call = servicesFor('sign up');
  const clientAddress = clientAddressOf(raw);
  try {
    await call.auth.signUp({
      username,
      password,
      idempotencyKey: optionalTextField(body, 'idempotencyKey') ?? randomUUID(),
      clientAddress,
    });
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'ALREADY_EXISTS') {
      throw new ApiError(409, 'ALREADY_EXISTS', `The username ${username} is taken. Please choose another.`);
    }
    throw err;
  }
  const session = await call.auth.logIn({ username, password, clientAddress });
  recordAction(session.token, call.trace);
  return { ...json(201, session), session };
};

/** POST /api/login {username, password} → 200 {user, token, expiresAt}, and the session cookie. */
export const logIn: Route = async ({ raw }) => {
  const body = await readJson(raw);
  const username = textField(body, 'username').trim();
  const password = textField(body, 'password');
  const problem = logInProblem(username, password);
  if (problem === 'missing') throw invalid(LOG_IN_WORDS.missing);
  if (problem === 'wrong') throw wrongCredentials();
  const call = servicesFor('log in');
  try {
    const session = await call.auth.logIn({ username, password, clientAddress: clientAddressOf(raw) });
    recordAction(session.token, call.trace);
    return { ...json(200, session), session };
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'UNAUTHENTICATED') throw wrongCredentials();
    throw err;
  }
};

/**
 * POST /api/logout → 204: revokes the session at auth (a copy of the token stops working at
 * once, and notify closes the session's live sockets) and clears the cookie. Without a session
 * there is nothing to revoke: 204 as well.
 */
export const logOut: Route = async ({ raw }) => {
  const token = requestToken(raw);
  if (token !== undefined) {
    forgetVerified(token);
    // If auth cannot be reached the caller hears so (503): the token would still work.
    await servicesFor('log out').auth.logOut({ token });
    forgetSession(token);
  }
  return { ...noContent(), session: null };
};

/** GET /api/me → 200 {user}: who the session belongs to; 401 without one. */
export const me: Route = async ({ raw }) => {
  const { user } = await requireViewer(raw, 'who am I');
  return json(200, { user });
};

/** GET /api/timeline?cursor=|newer= → 200 {posts, nextCursor?, newerCursor?}: the caller's home timeline, newest first. */
export const homeTimeline: Route = async ({ raw, query }) => {
  const page = timelinePageParams(query);
  const viewer = await requireViewer(raw, page.cursor || page.newerThan ? 'page through home' : 'view home');
  return json(200, await viewer.call.posts.homeTimeline({ userId: viewer.user.id, ...page }));
};

/**
 * GET /api/users/:username → 200 {user, displayName, bio, followers, following, youFollow}: an
 * account, what it says about itself, its follower and followee counts, and whether the caller
 * follows it (false when logged out, and for oneself). 404 when there is nobody by that name.
 */
export const userProfile: Route = async ({ raw, params }) => {
  const username = params.username!;
  const action = `view @${username}`;
  const viewer = await optionalViewer(raw, action);
  const call = viewer?.call ?? servicesFor(action);
  const user = await userNamed(call, username);
  if (user === undefined) throw notFound(`Nobody is called @${username}.`);
  const [profile, counts, youFollow] = await Promise.all([
    call.auth.getProfile({ userId: user.id }),
    call.follows.counts({ userId: user.id }),
    viewer !== null && viewer.user.id !== user.id
      ? call.follows.isFollowing({ followerId: viewer.user.id, followeeId: user.id }).then((r) => r.following)
      : Promise.resolve(false),
  ]);
  return json(200, { user, ...profile, followers: counts.followers, following: counts.following, youFollow });
};

/** GET /api/users/:username/posts?cursor=|newer= → 200 {posts, nextCursor?, newerCursor?}: their posts, newest first; 404 for nobody. */
export const userTimeline: Route = async ({ raw, query, params }) => {
  const username = params.username!;
  const page = timelinePageParams(query);
  const action = `view @${username}`;
  const call = (await optionalViewer(raw, action))?.call ?? servicesFor(action);
  const user = await userNamed(call, username);
  if (user === undefined) throw notFound(`Nobody is called @${username}.`);
  return json(200, await call.posts.userTimeline({ userId: user.id, ...page }));
};

/** POST /api/posts {text, idempotencyKey?} → 201 {post}: publish a post of at most 141 characters. */
export const createPost: Route = async ({ raw }) => {
  const body = await readJson(raw);
  const text = textField(body, 'text');
  const problem = postProblem(text);
  if (problem !== undefined) throw invalid(problem);
  const viewer = await requireViewer(raw, 'post');
  const { post } = await viewer.call.posts.create({
    authorId: viewer.user.id,
    authorUsername: viewer.user.username,
    text,
    idempotencyKey: optionalTextField(body, 'idempotencyKey') ?? randomUUID(),
  });
  return json(201, { post });
};

/** PUT /api/profile {displayName, bio} → 200 {displayName, bio}: one's own profile, trimmed; 400 past a limit. */
export const updateProfile: Route = async ({ raw }) => {
  const body = await readJson(raw);
  const displayName = textField(body, 'displayName');
  const bio = textField(body, 'bio');
  const problem = profileProblem(displayName, bio);
  if (problem !== undefined) throw invalid(problem);
  const viewer = await requireViewer(raw, 'edit profile');
  return json(200, await viewer.call.auth.updateProfile({ userId: viewer.user.id, displayName, bio }));
};

/**
 * DELETE /api/posts/:id → 204: delete your own post; it leaves every timeline and search, and
 * followers' open pages drop it. 403 for someone else's post, 404 for none (or deleted already).
 */
export const deletePost: Route = async ({ raw, params }) => {
  const viewer = await requireViewer(raw, 'delete a post');
  try {
    await viewer.call.posts.delete({ id: params.id!, authorId: viewer.user.id });
  } catch (err) {
    const refused = err instanceof ServiceError ? DELETE_REFUSED[err.code] : undefined;
    if (err instanceof ServiceError && refused !== undefined) {
      throw new ApiError(httpStatusOf(err.code), err.code, refused);
    }
    throw err;
  }
  return noContent();
};

/**
 * PUT /api/follows/:username → 204: follow them. DELETE → 204: stop. Both idempotent (doing it
 * twice is the same as once). 404 for nobody by that name; 400 for following oneself.
 */
export function changeFollow(change: 'follow' | 'unfollow'): Route {
  return async ({ raw, params }) => {
    const username = params.username!;
    const viewer = await requireViewer(raw, change);
    const followee = await userNamed(viewer.call, username);
    if (followee === undefined) throw notFound(`Nobody is called @${username}.`);
    await viewer.call.follows[change]({ followerId: viewer.user.id, followeeId: followee.id });
    return noContent();
  };
}

/** GET /api/search?q= → 200 {posts, users}: posts matching every word, people whose name starts with q. */
export const search: Route = async ({ raw, query: params }) => {
  const query = searchQueryOf(params.get('q'));
  if (!query) throw invalid('Say what to search for: /api/search?q=words');
  const action = `search “${query.slice(0, 40)}”`;
  const call = (await optionalViewer(raw, action))?.call ?? servicesFor(action);
  const prefix = peoplePrefixOf(query);
  const [found, users] = await Promise.all([
    call.posts.search({ query }),
    prefix ? call.auth.findUsers({ prefix, limit: 10 }).then((r) => r.users) : Promise.resolve([]),
  ]);
  return json(200, { posts: found.posts, users });
};

/** The caller, or null when the request carries no session auth knows. */
function optionalViewer(raw: IncomingMessage, action: string): Promise<Viewer | null> {
  const token = requestToken(raw);
  return token === undefined ? Promise.resolve(null) : viewerOfToken(token, action);
}

/** The caller, or 401. */
async function requireViewer(raw: IncomingMessage, action: string): Promise<Viewer> {
  const viewer = await optionalViewer(raw, action);
  if (viewer !== null) return viewer;
  throw new ApiError(
    401,
    'UNAUTHENTICATED',
    requestToken(raw) === undefined
      ? 'Log in first: send the session cookie or an Authorization: Bearer token.'
      : 'Your session has ended. Please log in again.',
  );
}

/** `?cursor=`: absent (undefined), or one a service handed out; 400 for anything else. */
/** ?cursor= (older than) or ?newer= (newer than): a cursor a timeline page gave, else 400. */
function timelinePageParams(query: URLSearchParams): TimelinePage {
  const page = timelinePageOf(query.get('cursor'), query.get('newer'));
  if (page === null) {
    throw invalid('That cursor is not one of ours: use the nextCursor or newerCursor of a page before.');
  }
  return page;
}
