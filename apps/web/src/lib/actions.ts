'use server';
/**
 * Every change a person makes, as server actions: sign up, log in, log out, post, delete a
 * post, follow, unfollow, edit one's profile, compare the transports. Each checks its input in words first (so the services' schema messages are a
 * second line of defence, not the first thing a person reads), calls the services through
 * the traced clients, and answers with a FormState the form shows. A server action whose Origin
 * is not this site's host, or that has none, never gets here: server.ts refuses it (403).
 * Log-in and sign-up pass the client's address (server.ts noted it) to auth's throttles.
 */
import { randomUUID } from 'node:crypto';
import { revalidatePath } from 'next/cache';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { CompareBusyError, comparableKinds, compareTransports, isCompareAction } from './compare';
import { DELETE_REFUSED, messageOf, ServiceError } from './errors';
import { CLIENT_ADDRESS_HEADER } from './forwarding';
import { LOG_IN_WORDS, USERNAME, logInProblem, postProblem, profileProblem, signUpProblem } from './input';
import { servicesFor } from './services';
import { actionViewer, endSession, sessionToken, startSession } from './session';
import { forgetSession, recordAction } from './traces';
import { forgetVerified } from './viewer';

export interface FormState {
  error?: string;
  /** Bumped on every success, so a form can tell one success from the next. */
  done?: number;
}

/** The client's address as server.ts found it (lib/forwarding.ts), for auth's throttles. */
async function clientAddress(): Promise<string | undefined> {
  return (await headers()).get(CLIENT_ADDRESS_HEADER) ?? undefined;
}

function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

export async function signUp(_previous: FormState, form: FormData): Promise<FormState> {
  const username = field(form, 'username').trim();
  const password = field(form, 'password');
  const problem = signUpProblem(username, password);
  if (problem !== undefined) return { error: problem };
  const call = servicesFor('sign up');
  const address = await clientAddress();
  try {
    await call.auth.signUp({
      username,
      password,
      idempotencyKey: field(form, 'idempotencyKey') || randomUUID(),
      clientAddress: address,
    });
    const session = await call.auth.logIn({ username, password, clientAddress: address });
    recordAction(session.token, call.trace);
    await startSession(session.token, session.expiresAt);
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'ALREADY_EXISTS') {
      return { error: `The username ${username} is taken. Please choose another.` };
    }
    return { error: messageOf(err) };
  }
  redirect('/');
}

export async function logIn(_previous: FormState, form: FormData): Promise<FormState> {
  const username = field(form, 'username').trim();
  const password = field(form, 'password');
  const problem = logInProblem(username, password);
  if (problem !== undefined) return { error: LOG_IN_WORDS[problem] };
  const call = servicesFor('log in');
  try {
    const session = await call.auth.logIn({ username, password, clientAddress: await clientAddress() });
    recordAction(session.token, call.trace);
    await startSession(session.token, session.expiresAt);
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'UNAUTHENTICATED') return { error: LOG_IN_WORDS.wrong };
    return { error: messageOf(err) };
  }
  redirect('/');
}

export async function logOut(): Promise<void> {
  const token = await sessionToken();
  if (token !== undefined) {
    // Revoke it at auth too, so a copy of the cookie stops working; if auth is down the
    // cookie still goes, and the session expires on its own.
    await servicesFor('log out')
      .auth.logOut({ token })
      .catch(() => {});
    forgetSession(token);
    forgetVerified(token);
  }
  await endSession();
  redirect('/login');
}

export async function createPost(_previous: FormState, form: FormData): Promise<FormState> {
  const text = field(form, 'text');
  const problem = postProblem(text);
  if (problem !== undefined) return { error: problem };
  try {
    const viewer = await actionViewer('post');
    if (viewer === null) return { error: 'Your session has ended. Please log in again.' };
    await viewer.call.posts.create({
      authorId: viewer.user.id,
      authorUsername: viewer.user.username,
      text,
      idempotencyKey: field(form, 'idempotencyKey') || randomUUID(),
    });
  } catch (err) {
    return { error: messageOf(err) };
  }
  revalidatePath('/');
  return { done: Date.now() };
}

export async function deletePost(_previous: FormState, form: FormData): Promise<FormState> {
  const id = field(form, 'postId');
  if (!id) return { error: 'We could not tell which post to delete. Reload the page.' };
  try {
    const viewer = await actionViewer('delete a post');
    if (viewer === null) return { error: 'Your session has ended. Please log in again.' };
    await viewer.call.posts.delete({ id, authorId: viewer.user.id });
  } catch (err) {
    const refused = err instanceof ServiceError ? DELETE_REFUSED[err.code] : undefined;
    return { error: refused ?? messageOf(err) };
  }
  // Every page that may list it: home, the author's page, search.
  revalidatePath('/', 'layout');
  return { done: Date.now() };
}

export async function follow(_previous: FormState, form: FormData): Promise<FormState> {
  return changeFollow('follow', form);
}

export async function unfollow(_previous: FormState, form: FormData): Promise<FormState> {
  return changeFollow('unfollow', form);
}

async function changeFollow(change: 'follow' | 'unfollow', form: FormData): Promise<FormState> {
  const followeeId = field(form, 'userId');
  const username = field(form, 'username');
  if (!followeeId || !USERNAME.test(username)) return { error: 'We could not tell whom to follow. Reload the page.' };
  try {
    const viewer = await actionViewer(change);
    if (viewer === null) return { error: 'Your session has ended. Please log in again.' };
    await viewer.call.follows[change]({ followerId: viewer.user.id, followeeId });
  } catch (err) {
    return { error: messageOf(err) };
  }
  // Their page, home, and every list of people with a button for them.
  revalidatePath('/', 'layout');
  return { done: Date.now() };
}

export async function updateProfile(_previous: FormState, form: FormData): Promise<FormState> {
  const displayName = field(form, 'displayName');
  const bio = field(form, 'bio');
  const problem = profileProblem(displayName, bio);
  if (problem !== undefined) return { error: problem };
  try {
    const viewer = await actionViewer('edit profile');
    if (viewer === null) return { error: 'Your session has ended. Please log in again.' };
    await viewer.call.auth.updateProfile({ userId: viewer.user.id, displayName, bio });
  } catch (err) {
    return { error: messageOf(err) };
  }
  revalidatePath('/', 'layout');
  return { done: Date.now() };
}

/** Run one action over every transport in turn (lib/compare.ts); the Transports page shows the result. */
export async function compare(_previous: FormState, form: FormData): Promise<FormState> {
  const action = field(form, 'action');
  if (!isCompareAction(action)) return { error: 'Choose one of the actions to compare.' };
  if (comparableKinds().length < 2) {
    return { error: 'The services serve only one transport: start them with COMPARE_TRANSPORTS (npm start does).' };
  }
  try {
    const viewer = await actionViewer('compare transports');
    if (viewer === null) return { error: 'Your session has ended. Please log in again.' };
    await compareTransports(action, viewer.user, viewer.token);
  } catch (err) {
    return { error: err instanceof CompareBusyError ? err.message : messageOf(err) };
  }
  revalidatePath('/transports');
  return { done: Date.now() };
}
