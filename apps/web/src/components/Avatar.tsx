/** A username's generated avatar (lib/avatar.ts): decorative, as the name is always beside it. */
import { avatarOf } from '../lib/avatar';

export function Avatar({ username, size }: { username: string; size: number }) {
  const { hue, cells } = avatarOf(username);
  return (
    <svg
      className="avatar"
      viewBox="-0.5 -0.5 6 6"
      width={size}
      height={size}
      aria-hidden="true"
      data-avatar={username}
    >
      <rect x="-0.5" y="-0.5" width="6" height="6" fill={`hsl(${hue} 60% 92%)`} />
      {cells.map((filled, i) =>
        filled ? (
          <rect key={i} x={i % 5} y={Math.floor(i / 5)} width="1" height="1" fill={`hsl(${hue} 55% 42%)`} />
        ) : null,
      )}
    </svg>
  );
}
