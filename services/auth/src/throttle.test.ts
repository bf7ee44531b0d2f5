/**
 * The log-in throttle on its own, with a fake clock: when it locks a username out and for
 * how long, and that its memory stays bounded however many usernames an attacker tries.
 */
import { TransportError } from '@chirp/transport';
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './throttle.js';

const refusal = (throttle: LoginThrottle, username: string, now: number) => {
  try {
    throttle.begin(username, now);
  } catch (err) {
    if (err instanceof TransportError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return undefined;
};

describe('log-in throttle', () => {
  it('locks a username out after maxFailures in the window, until the oldest failure leaves it', () => {
    const throttle = new LoginThrottle(3, 60_000);
    for (const t of [0, 10_000, 20_000]) throttle.begin('Eve', t); // three failures
    expect(refusal(throttle, 'eve', 30_000)).toBe(
      'RESOURCE_EXHAUSTED: too many failed log-ins for eve; try again in 30 s',
    );
    expect(refusal(throttle, 'eve', 59_999)).toMatch(/try again in 1 s$/);
    expect(refusal(throttle, 'eve', 60_001)).toBeUndefined(); // the failure at 0 has left the window
    expect(refusal(throttle, 'mallory', 30_000)).toBeUndefined(); // per username
  });

  it('forgets a username on success, and an abandoned attempt is not held against it', () => {
    const throttle = new LoginThrottle(2, 60_000);
    throttle.begin('eve', 0);
    throttle.begin('eve', 1).succeeded();
    throttle.begin('eve', 2).abandoned();
    throttle.begin('eve', 3);
    expect(refusal(throttle, 'eve', 4)).toBeUndefined();
    expect(refusal(throttle, 'eve', 5)).toMatch(/^RESOURCE_EXHAUSTED/);
  });

  it('tracks at most maxTracked usernames, and drops those whose failures have expired', () => {
    const throttle = new LoginThrottle(5, 1000, 100);
    for (let i = 0; i < 1000; i++) throttle.begin(`user${i}`, i);
    expect(throttle.size).toBe(100);
    throttle.begin('late', 5000); // everyone else's failures are out of the window by now
    expect(throttle.size).toBe(1);
  });
});
