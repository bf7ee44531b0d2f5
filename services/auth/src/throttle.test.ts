/**
 * The throttles on their own, with a fake clock: when they lock out, whom, for how long, and that
 * their memory stays bounded however many usernames or addresses an attacker tries. (auth.test.ts
 * runs the same rules through the real service on every transport.)
 */
import { DomainError } from '@chirp/contracts';
import { describe, expect, it } from 'vitest';
import { addressKey } from './client-address.js';
import { SlidingWindow } from './sliding-window.js';
import { LoginThrottle, SignUpThrottle, type LoginLimits } from './throttle.js';

const refusal = (attempt: () => unknown) => {
  try {
    attempt();
  } catch (err) {
    if (err instanceof DomainError) return `${err.code}: ${err.message} (${err.retryAfterS})`;
    throw err;
  }
  return undefined;
};

const limits = (overrides: Partial<LoginLimits> = {}): LoginLimits => ({
  perUsernameAndAddress: 3,
  perAddress: 0,
  perUsername: 0,
  windowMs: 60_000,
  ...overrides,
});

describe('log-in throttle', () => {
  it('locks a username out after maxFailures in the window, until the oldest failure leaves it', () => {
    const throttle = new LoginThrottle(limits());
    const logIn = (username: string, now: number) => refusal(() => throttle.begin(username, undefined, now));
    for (const t of [0, 10_000, 20_000]) throttle.begin('Eve', undefined, t); // three failures
    expect(logIn('eve', 30_000)).toBe('RESOURCE_EXHAUSTED: too many failed log-ins for eve; try again in 30 s (30)');
    expect(logIn('eve', 59_999)).toMatch(/try again in 1 s \(1\)$/);
    expect(logIn('eve', 60_001)).toBeUndefined(); // the failure at 0 has left the window
    expect(logIn('mallory', 30_000)).toBeUndefined(); // per username
  });

  it('forgets a username on success, and an abandoned attempt is not held against it', () => {
    const throttle = new LoginThrottle(limits({ perUsernameAndAddress: 2 }));
    throttle.begin('eve', undefined, 0);
    throttle.begin('eve', undefined, 1).succeeded();
    throttle.begin('eve', undefined, 2).abandoned();
    throttle.begin('eve', undefined, 3);
    expect(refusal(() => throttle.begin('eve', undefined, 4))).toBeUndefined();
    expect(refusal(() => throttle.begin('eve', undefined, 5))).toMatch(/^RESOURCE_EXHAUSTED/);
  });

  it("counts a stranger's failures per address: the owner logging in from elsewhere is not locked out", () => {
    const throttle = new LoginThrottle(limits({ perAddress: 10, perUsername: 20 }));
    for (let t = 0; t < 3; t++) throttle.begin('owner', '203.0.113.66', t);
    expect(refusal(() => throttle.begin('owner', '203.0.113.66', 10))).toMatch(
      /^RESOURCE_EXHAUSTED: too many failed log-ins for owner; try again in 60 s/,
    );
    expect(refusal(() => throttle.begin('OWNER', '198.51.100.7', 10)?.succeeded())).toBeUndefined();
    // the same stranger's other address in the same IPv6 /64 is the same place
    for (let t = 0; t < 3; t++) throttle.begin('owner', `2001:db8:1:2::${t + 1}`, 20 + t);
    expect(refusal(() => throttle.begin('owner', '2001:db8:1:2:ffff::9', 30))).toMatch(/^RESOURCE_EXHAUSTED/);
    expect(refusal(() => throttle.begin('owner', '2001:db8:1:3::1', 30))).toBeUndefined();
  });

  it('stops password spraying: failures from one address across usernames, even the right password', () => {
    const throttle = new LoginThrottle(limits({ perAddress: 20 }));
    const sprayed = Array.from({ length: 50 }, (_, i) =>
      refusal(() => throttle.begin(`user${i}`, '192.0.2.1', 1000 + i)),
    );
    expect(sprayed.slice(0, 20)).toEqual(Array(20).fill(undefined));
    expect(new Set(sprayed.slice(20))).toEqual(
      new Set(['RESOURCE_EXHAUSTED: too many failed log-ins from this address; try again in 60 s (60)']),
    );
    // a success from that address does not reset it (an attacker's own account must not)
    expect(refusal(() => throttle.begin('mine', '192.0.2.1', 2000))).toMatch(/from this address/);
    expect(refusal(() => throttle.begin('user0', '192.0.2.2', 2000))).toBeUndefined(); // another address
    expect(refusal(() => throttle.begin('user0', '::ffff:192.0.2.1', 2000))).toMatch(/from this address/);
  });

  it('has a looser backstop per username across addresses, and none without one', () => {
    const throttle = new LoginThrottle(limits({ perAddress: 10, perUsername: 6 }));
    for (let i = 0; i < 6; i++) throttle.begin('target', `192.0.2.${i}`, i);
    expect(refusal(() => throttle.begin('target', '198.51.100.1', 10))).toBe(
      'RESOURCE_EXHAUSTED: too many failed log-ins for target from many addresses; try again in 60 s (60)',
    );
    const open = new LoginThrottle(limits({ perUsername: 0 }));
    for (let i = 0; i < 100; i++) open.begin('target', `192.0.2.${i}`, i);
    expect(refusal(() => open.begin('target', '198.51.100.1', 200))).toBeUndefined();
  });

  it('tracks at most maxTracked keys per window, and drops those whose failures have expired', () => {
    const throttle = new LoginThrottle({
      ...limits({ perAddress: 5, perUsername: 5 }),
      windowMs: 1000,
      maxTracked: 100,
    });
    for (let i = 0; i < 1000; i++) throttle.begin(`user${i}`, `10.0.${i >> 8}.${i & 255}`, i);
    expect(throttle.size).toBe(300);
    throttle.begin('late', '10.9.9.9', 5000); // everyone else's failures are out of the window by now
    expect(throttle.size).toBe(3);
  });
});

describe('sign-up throttle', () => {
  it('limits sign-ups per address, not for a call without one; an abandoned one does not count', () => {
    const throttle = new SignUpThrottle(3, 3_600_000);
    throttle.begin('192.0.2.1', 0);
    throttle.begin('192.0.2.1', 1).abandoned();
    throttle.begin('192.0.2.1', 2);
    throttle.begin('192.0.2.1', 3);
    expect(refusal(() => throttle.begin('192.0.2.1', 1000))).toBe(
      'RESOURCE_EXHAUSTED: too many sign-ups from this address; try again in 3599 s (3599)',
    );
    expect(refusal(() => throttle.begin('192.0.2.2', 1000))).toBeUndefined();
    for (let i = 0; i < 10; i++) throttle.begin(undefined, i);
    expect(new SlidingWindow(0, 1000).waitS('x', 0)).toBeUndefined(); // a limit of 0 is none
  });
});

describe('client address keys', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:c000:201', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::198.51.100.1', '64:ff9b:0:0::/64'],
    ['not an address', undefined],
    [undefined, undefined],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
