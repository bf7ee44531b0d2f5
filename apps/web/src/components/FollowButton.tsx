'use client';
/** Follow or unfollow someone from their page; the page re-renders with the new counts. */
import { useActionState } from 'react';
import { follow, unfollow, type FormState } from '../lib/actions';

interface Props {
  userId: string;
  username: string;
  following: boolean;
}

export function FollowButton({ userId, username, following }: Props) {
  const [followState, followAction, following_] = useActionState<FormState, FormData>(follow, {});
  const [unfollowState, unfollowAction, unfollowing] = useActionState<FormState, FormData>(unfollow, {});
  const pending = following_ || unfollowing;
  const error = (following ? unfollowState.error : followState.error) ?? undefined;

  return (
    <form action={following ? unfollowAction : followAction} className="follow">
      <input type="hidden" name="userId" value={userId} />
      <input type="hidden" name="username" value={username} />
      <button type="submit" className={following ? 'secondary' : undefined} disabled={pending}>
        {pending ? 'Saving…' : following ? `Unfollow @${username}` : `Follow @${username}`}
      </button>
      {error ? (
        <p role="alert" className="problem">
          {error}
        </p>
      ) : null}
    </form>
  );
}
