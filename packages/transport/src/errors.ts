/**
 * The closed set of errors a call can end with, whatever transport carried it.
 *
 * Codes are gRPC's. One table says, for each code, whether a caller may retry and
 * which HTTP status the HTTP transport uses for it, so the mapping lives in one place.
 */

export const ERROR_CODES = {
  INVALID_ARGUMENT: { httpStatus: 400, retryable: false },
  UNAUTHENTICATED: { httpStatus: 401, retryable: false },
  PERMISSION_DENIED: { httpStatus: 403, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  ALREADY_EXISTS: { httpStatus: 409, retryable: false },
  RESOURCE_EXHAUSTED: { httpStatus: 429, retryable: true },
  UNAVAILABLE: { httpStatus: 503, retryable: true },
  DEADLINE_EXCEEDED: { httpStatus: 504, retryable: true },
  INTERNAL: { httpStatus: 500, retryable: false },
  UNIMPLEMENTED: { httpStatus: 501, retryable: false },
} as const satisfies Record<string, { httpStatus: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: ErrorCode;
  /** A retry of the same call may succeed (the peer was down, busy or slow). */
  readonly retryable: boolean;
  /** When a retry may succeed, in whole seconds, if the handler knows (e.g. a throttle's lock-out). */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean; retryAfterS?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? ERROR_CODES[code].retryable;
    this.retryAfterS = options?.retryAfterS;
  }

  /** What crosses the wire: code, message and when to retry, never a stack. */
  toJSON(): WireError {
    const wire: WireError = { code: this.code, message: this.message };
    if (this.retryAfterS !== undefined) wire.retryAfterS = this.retryAfterS;
    return wire;
  }
}

export interface WireError {
  code: ErrorCode;
  message: string;
  retryAfterS?: number;
}

/** The HTTP status for a code, and the code for a status a peer answered with. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].httpStatus;
}

export function codeOfHttpStatus(status: number): ErrorCode {
  for (const [code, { httpStatus }] of Object.entries(ERROR_CODES)) {
    if (httpStatus === status) return code as ErrorCode;
  }
  if (status === 413) return 'RESOURCE_EXHAUSTED';
  if (status === 415) return 'INVALID_ARGUMENT';
  return status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
}

/**
 * What a handler's failure looks like to its caller. A TransportError keeps its code
 * and message; anything else is INTERNAL with a generic message, so a stack trace or
 * a database error never leaks across a service boundary (it is logged instead).
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof TransportError) return err.toJSON();
  return { code: 'INTERNAL', message: 'internal error' };
}

/** A peer's error as sent, if `value` is one: code and message, and retryAfterS when it is a count of seconds. */
export function wireErrorOf(value: unknown): WireError | undefined {
  const e = value as Partial<WireError> | null;
  if (typeof e !== 'object' || e === null || !isErrorCode(e.code) || typeof e.message !== 'string') return undefined;
  const wire: WireError = { code: e.code, message: e.message };
  if (Number.isSafeInteger(e.retryAfterS) && e.retryAfterS! >= 0) wire.retryAfterS = e.retryAfterS;
  return wire;
}

export function fromWireError(wire: WireError): TransportError {
  const checked = wireErrorOf(wire) ?? wire;
  return new TransportError(checked.code, checked.message, { retryAfterS: checked.retryAfterS });
}

/** Errors of the operating system's sockets that mean "nobody is there (any more)". */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE_ERRNOS.has(code);
}

export function unavailable(what: string, cause?: unknown): TransportError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new TransportError('UNAVAILABLE', `${what}${reason}`, { cause });
}

/** A message that cannot be read: INVALID_ARGUMENT, saying what is wrong with it. */
export function malformed(message: string): TransportError {
  return new TransportError('INVALID_ARGUMENT', `malformed message: ${message}`);
}

/**
 * A brokered transport's server checks what arrives against its own limit before reading it:
 * the broker takes bigger messages than ours, and a foreign client may ignore our limit.
 */
export function checkReceivedSize(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new TransportError(
      'RESOURCE_EXHAUSTED',
      `malformed message: body is ${bytes} bytes, over this transport's limit of ${maxBytes} bytes`,
    );
  }
}
