'use client';
/**
 * A post's time: "3 min ago" in the viewer's own words and time zone, the exact time on hover,
 * kept current while the page is open. The server (which knows neither the viewer's clock nor
 * their zone) and the first render in the browser print the exact UTC time, so they agree; the
 * relative time replaces it once the page runs.
 */
import { useEffect, useState } from 'react';
import { TIME_REFRESH_MS, exactTime, timeAgo } from '../lib/time';

const UTC = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export function RelativeTime({ iso }: { iso: string }) {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), TIME_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const at = Date.parse(iso);
  if (now === null) return <time dateTime={iso}>{UTC.format(at)} UTC</time>;
  return (
    <time dateTime={iso} title={exactTime(at)}>
      {timeAgo(at, now)}
    </time>
  );
}
