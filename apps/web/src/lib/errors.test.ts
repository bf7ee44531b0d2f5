/**
 * What a person reads when a service call fails: words for every error code, the service
 * named when it is the one at fault, and never the developer's detail (field paths, schema
 * wording, stacks).
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TransportError, type ErrorCode } from '@chirp/transport';
import { messageOf, serviceError } from './errors';

describe('service errors in words', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('says %s as a sentence without internals', (code) => {
    const err = serviceError(
      new TransportError(code, 'internal detail at Object.<anonymous> (x.ts:1:2)'),
      'posts',
      'create',
    );
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^[A-Z].*[.!?]$/);
    if (code !== 'INVALID_ARGUMENT' && code !== 'NOT_FOUND' && code !== 'ALREADY_EXISTS') {
      expect(err.message).not.toContain('internal detail');
    }
  });

  it('names the service that is down or slow', () => {
    expect(
      serviceError(new TransportError('UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:4102'), 'posts', 'create').message,
    ).toBe('The posts service is not reachable right now. Please try again in a moment.');
    expect(serviceError(new TransportError('DEADLINE_EXCEEDED', 'no reply in 5000 ms'), 'auth', 'verify').message).toBe(
      'The sign-in service took too long to answer. Please try again.',
    );
  });

  it("keeps a service's own explanation, and says a schema check's as a refusal", () => {
    const tooLong = new TransportError('INVALID_ARGUMENT', 'a post is at most 141 characters; this one has 150');
    expect(serviceError(tooLong, 'posts', 'create').message).toBe(
      'A post is at most 141 characters; this one has 150.',
    );
    const schema = new TransportError('INVALID_ARGUMENT', 'follows.follow: followeeId: Expected string');
    expect(serviceError(schema, 'follows', 'follow').message).toBe(
      'Some of that input was not accepted (followeeId: Expected string).',
    );
  });

  it('turns anything else into a generic sentence, never a stack', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    expect(messageOf(bug)).toBe('Something went wrong on our side. Please try again.');
    expect(serviceError(bug, 'follows', 'counts').message).toBe(
      'The follow service ran into a problem. Please try again; if it keeps happening, it is on our side.',
    );
  });
});
