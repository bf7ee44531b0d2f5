/**
 * A post's time as people read it: how long ago, in the viewer's own words ("just now",
 * "3 min ago", "5 h ago", "2 d ago", then the date in their own time zone), and the exact
 * time for a tooltip. Pure, so the browser's clock and zone are arguments and tests can pin them.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `at` (epoch ms) relative to `now`; past a week, the date in `timeZone` (the browser's by default). */
export function timeAgo(at: number, now: number, timeZone?: string): string {
  const ago = Math.max(0, now - at);
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  if (ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
  if (ago < 7 * DAY) return `${Math.floor(ago / DAY)} d ago`;
  const sameYear = new Date(at).getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
    timeZone,
  }).format(at);
}

/** The exact time, with its zone named: "Thursday, 3 December 2026 at 20:52:18 CET". */
export function exactTime(at: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'long', timeZone }).format(at);
}

/** How often a shown "N min ago" is brought up to date. */
export const TIME_REFRESH_MS = 30_000;
