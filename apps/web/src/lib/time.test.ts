import { describe, expect, it } from 'vitest';
import { exactTime, timeAgo } from './time';

const now = Date.parse('2026-12-03T19:52:18Z');

describe('timeAgo', () => {
  it('says how long ago in minutes, hours and days, then gives the date', () => {
    expect(timeAgo(now - 5_000, now)).toBe('just now');
    expect(timeAgo(now + 2_000, now)).toBe('just now'); // a clock slightly behind the server's
    expect(timeAgo(now - 3 * 60_000 - 59_000, now)).toBe('3 min ago');
    expect(timeAgo(now - 5 * 3_600_000, now)).toBe('5 h ago');
    expect(timeAgo(now - 2 * 86_400_000, now)).toBe('2 d ago');
    expect(timeAgo(Date.parse('2026-11-20T10:00:00Z'), now, 'UTC')).toBe('20 Nov');
    expect(timeAgo(Date.parse('2025-11-20T10:00:00Z'), now, 'UTC')).toBe('20 Nov 2025');
  });

  it("dates an old post in the viewer's own time zone", () => {
    const lateEvening = Date.parse('2026-11-20T23:30:00Z');
    expect(timeAgo(lateEvening, now, 'UTC')).toBe('20 Nov');
    expect(timeAgo(lateEvening, now, 'Asia/Tokyo')).toBe('21 Nov');
  });
});

describe('exactTime', () => {
  it('names the day, the second and the zone', () => {
    expect(exactTime(now, 'UTC')).toBe('Thursday, 3 December 2026 at 19:52:18 UTC');
    expect(exactTime(now, 'Asia/Tokyo')).toBe('Friday, 4 December 2026 at 04:52:18 GMT+9');
  });
});
