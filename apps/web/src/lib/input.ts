/**
 * What a person may send, checked in words before any service is called: the server actions
 * and the JSON API ask the same questions here, so a form and an API client are told the same
 * thing. Each check returns the sentence to show, or undefined when the input is fine. The
 * services check again against their contracts; these checks exist so the first answer a
 * person reads is a sentence, not a schema message.
 */
import { MAX_BIO_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_POST_CHARS } from '@chirp/contracts';
import { postLength } from './text.js';

/** How long a username may be, in characters (the sign-up form says so as it is typed). */
export const USERNAME_LENGTH = { min: 3, max: 20 } as const;
/** 3–20 letters, digits or underscores: the contract's Username. */
export const USERNAME = new RegExp(`^[A-Za-z0-9_]{${USERNAME_LENGTH.min},${USERNAME_LENGTH.max}}$`);
/** bcrypt reads at most 72 bytes; auth refuses longer passwords rather than truncate them. */
export const PASSWORD_MAX_BYTES = 72;
const PASSWORD_MIN_CHARS = 8;
/** The longest cursor any service hands out is far shorter; anything longer is not one of theirs. */
const CURSOR_MAX_CHARS = 200;
const SEARCH_MAX_CHARS = 200;
/** A search that is one username-like word also looks for people whose name starts with it. */
const PEOPLE_PREFIX = /^@?([A-Za-z0-9_]{1,20})$/;

export function signUpProblem(username: string, password: string): string | undefined {
  if (!USERNAME.test(username)) {
    return `A username is ${USERNAME_LENGTH.min} to ${USERNAME_LENGTH.max} letters, digits or underscores.`;
  }
  if ([...password].length < PASSWORD_MIN_CHARS) {
    return `Choose a password of at least ${PASSWORD_MIN_CHARS} characters.`;
  }
  if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES) {
    return `That password is too long: at most ${PASSWORD_MAX_BYTES} bytes, please.`;
  }
  return undefined;
}

/** Log-in input that can never match an account is answered like a wrong password. */
export type LogInProblem = 'missing' | 'wrong';

export function logInProblem(username: string, password: string): LogInProblem | undefined {
  if (!username || !password) return 'missing';
  if (username.length > 64 || password.length > 1024) return 'wrong';
  return undefined;
}

export const LOG_IN_WORDS: Record<LogInProblem, string> = {
  missing: 'Enter your username and your password.',
  wrong: 'Wrong username or password.',
};

export function postProblem(text: string): string | undefined {
  const length = postLength(text);
  if (length === 0) return 'Write something first.';
  if (length > MAX_POST_CHARS) return `A post is at most ${MAX_POST_CHARS} characters; this one has ${length}.`;
  return undefined;
}

/** The profile's limits, for the form to show as it is typed (the same as auth's). */
export const PROFILE_LIMITS = { displayName: MAX_DISPLAY_NAME_CHARS, bio: MAX_BIO_CHARS } as const;

export function profileProblem(displayName: string, bio: string): string | undefined {
  const nameLength = postLength(displayName);
  if (nameLength > MAX_DISPLAY_NAME_CHARS) {
    return `A display name is at most ${MAX_DISPLAY_NAME_CHARS} characters; this one has ${nameLength}.`;
  }
  if (/[\r\n\u2028\u2029]/.test(displayName.trim())) return 'A display name is one line.';
  const bioLength = postLength(bio);
  if (bioLength > MAX_BIO_CHARS) return `A bio is at most ${MAX_BIO_CHARS} characters; this one has ${bioLength}.`;
  return undefined;
}

/**
 * The username in a page's path (/u/:username), lowercased; undefined when the segment is not
 * valid percent-encoding (/u/%ff) or not a username, so the page answers 404 rather than 500.
 */
export function usernameFromPath(segment: string): string | undefined {
  let username: string;
  try {
    username = decodeURIComponent(segment).toLowerCase();
  } catch {
    return undefined;
  }
  return USERNAME.test(username) ? username : undefined;
}

/** A page cursor from a query string: undefined for none, null for one that cannot be ours. */
export function cursorOf(value: unknown): string | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' && value.length <= CURSOR_MAX_CHARS ? value : null;
}

/** A timeline page as asked in a query string: older than `cursor`, newer than `newer`, or the newest. */
export interface TimelinePage {
  cursor?: string;
  newerThan?: string;
}

/** The page `cursor` / `newer` ask for (`cursor` wins if both are given); null for a cursor that cannot be ours. */
export function timelinePageOf(cursor: unknown, newer: unknown): TimelinePage | null {
  const older = cursorOf(cursor);
  const newerThan = cursorOf(newer);
  if (older === null || newerThan === null) return null;
  if (older !== undefined) return { cursor: older };
  return newerThan === undefined ? {} : { newerThan };
}

/** A search query, trimmed and cut to what posts.search accepts. */
export function searchQueryOf(value: unknown): string {
  return (typeof value === 'string' ? value : '').trim().slice(0, SEARCH_MAX_CHARS);
}

/** The username prefix a search also looks people up by, if the query is one such word. */
export function peoplePrefixOf(query: string): string | undefined {
  return PEOPLE_PREFIX.exec(query)?.[1]?.toLowerCase();
}
