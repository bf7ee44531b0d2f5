/** People, each a link to their page with a follow button (for the logged-in, not on themself). */
import Link from 'next/link';
import type { Person } from '../lib/people';
import { FollowButton } from './FollowButton';

interface Props {
  people: Person[];
  empty: string;
  /** Who is looking, when logged in. */
  viewerId?: string | undefined;
}

export function PeopleList({ people, empty, viewerId }: Props) {
  if (people.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ul className="people">
      {people.map((person) => (
        <li key={person.id} className="person">
          <span className="person-name">
            <Link href={`/u/${encodeURIComponent(person.username)}`}>@{person.username}</Link>
            {person.note ? <span className="muted"> · {person.note}</span> : null}
          </span>
          {viewerId !== undefined && viewerId !== person.id ? (
            <FollowButton userId={person.id} username={person.username} following={person.followed} />
          ) : null}
        </li>
      ))}
    </ul>
  );
}
