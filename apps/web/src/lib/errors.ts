/**
 * Every failure of a service call, said in words a person can act on. The transports end a
 * call with a TransportError (gRPC-style code + a message meant for developers); pages and
 * actions show `ServiceError.message` instead, which never contains a stack, a field path or
 * a schema, and names the service when it is the one at fault.
 */
import { TransportError, type ErrorCode } from '@chirp/transport';

const SERVICE_NAMES: Record<string, string> = {
  auth: 'The sign-in service',
  posts: 'The posts service',
  follows: 'The follow service',
};

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ErrorCode;
  readonly service: string;
  readonly method: string;
  /** The transport's own message, for logs. */
  readonly detail: string;
  /** Seconds until a retry may succeed, when the service said (auth's log-in throttle does). */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, service: string, method: string, detail: string, retryAfterS?: number) {
    super(friendlyMessage(code, service, detail, retryAfterS));
    this.code = code;
    this.service = service;
    this.method = method;
    this.detail = detail;
    this.retryAfterS = retryAfterS;
  }
}

/** Wrap whatever a call threw: a TransportError becomes a ServiceError, anything else INTERNAL. */
export function serviceError(err: unknown, service: string, method: string): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof TransportError) {
    return new ServiceError(err.code, service, method, err.message, err.retryAfterS);
  }
  return new ServiceError('INTERNAL', service, method, err instanceof Error ? err.message : String(err));
}

function friendlyMessage(code: ErrorCode, service: string, detail: string, retryAfterS?: number): string {
  const who = SERVICE_NAMES[service] ?? `The ${service} service`;
  switch (code) {
    case 'INVALID_ARGUMENT':
      return SCHEMA_CHECK.test(detail)
        ? `Some of that input was not accepted (${detail.replace(SCHEMA_CHECK, '').replace(/[.]$/, '')}).`
        : sentence(detail) || 'That input was not accepted. Please check it and try again.';
    case 'UNAUTHENTICATED':
      return 'Your session has ended. Please log in again.';
    case 'PERMISSION_DENIED':
      return 'You are not allowed to do that.';
    case 'NOT_FOUND':
      return sentence(detail.replace(SCHEMA_CHECK, '')) || 'We could not find that.';
    case 'ALREADY_EXISTS':
      return sentence(detail.replace(SCHEMA_CHECK, '')) || 'That already exists.';
    case 'RESOURCE_EXHAUSTED':
      return retryAfterS === undefined
        ? 'Too many attempts in a short time. Please wait a minute and try again.'
        : `Too many attempts in a short time. Please try again in ${inWords(retryAfterS)}.`;
    case 'UNAVAILABLE':
      return `${who} is not reachable right now. Please try again in a moment.`;
    case 'DEADLINE_EXCEEDED':
      return `${who} took too long to answer. Please try again.`;
    case 'UNIMPLEMENTED':
      return `${who} does not offer this yet.`;
    case 'INTERNAL':
      return `${who} ran into a problem. Please try again; if it keeps happening, it is on our side.`;
  }
}

/** "45 seconds", "5 minutes": a wait, rounded up to what a person would plan around. */
function inWords(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** The contract's schema check prefixes its messages with the method: `auth.signUp: username: …`. */
const SCHEMA_CHECK = /^[a-z]+\.[A-Za-z]+: /;

function sentence(text: string): string {
  if (!text) return '';
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Words for any error a page or action caught: a service's, or a generic one (never a stack). */
export function messageOf(err: unknown): string {
  if (err instanceof ServiceError) return err.message;
  if (err instanceof TransportError) return friendlyMessage(err.code, 'web', err.message);
  return 'Something went wrong on our side. Please try again.';
}

/** What a person is told when deleting a post is refused: its author only, and only once. */
export const DELETE_REFUSED: Partial<Record<ErrorCode, string>> = {
  PERMISSION_DENIED: 'Only its author can delete a post.',
  NOT_FOUND: 'That post is gone already.',
};
