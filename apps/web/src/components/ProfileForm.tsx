'use client';
/**
 * The owner's own profile, editable: display name and bio with their limits counted as they
 * are typed (code points after trimming, as auth counts), Save disabled past a limit, the
 * server's answer under it. The server checks again: the counters are a courtesy.
 */
import { useActionState, useEffect, useId, useState } from 'react';
import { updateProfile, type FormState } from '../lib/actions';
import { postLength } from '../lib/text';

interface Props {
  displayName: string;
  bio: string;
  limits: { displayName: number; bio: number };
}

export function ProfileForm({ displayName, bio, limits }: Props) {
  const [state, action, pending] = useActionState<FormState, FormData>(updateProfile, {});
  const [name, setName] = useState(displayName);
  const [about, setAbout] = useState(bio);
  const [open, setOpen] = useState(false);
  const id = useId();
  const nameOver = postLength(name) - limits.displayName;
  const bioOver = postLength(about) - limits.bio;

  useEffect(() => {
    if (state.done !== undefined) setOpen(false);
  }, [state.done]);

  return (
    <details className="profile-form" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Edit profile</summary>
      <form action={action} aria-label="Edit profile">
        <label htmlFor={`${id}-name`}>Display name</label>
        <input
          id={`${id}-name`}
          name="displayName"
          value={name}
          onChange={(event) => setName(event.target.value)}
          aria-describedby={`${id}-name-count`}
          aria-invalid={nameOver > 0}
        />
        <Count id={`${id}-name-count`} length={postLength(name)} max={limits.displayName} testId="name-count" />
        <label htmlFor={`${id}-bio`}>Bio</label>
        <textarea
          id={`${id}-bio`}
          name="bio"
          rows={3}
          value={about}
          onChange={(event) => setAbout(event.target.value)}
          aria-describedby={`${id}-bio-count`}
          aria-invalid={bioOver > 0}
        />
        <Count id={`${id}-bio-count`} length={postLength(about)} max={limits.bio} testId="bio-count" />
        <button type="submit" disabled={pending || nameOver > 0 || bioOver > 0}>
          {pending ? 'Saving…' : 'Save profile'}
        </button>
        {state.error ? (
          <p role="alert" className="problem">
            {state.error}
          </p>
        ) : null}
      </form>
    </details>
  );
}

function Count({ id, length, max, testId }: { id: string; length: number; max: number; testId: string }) {
  const over = length - max;
  return (
    <span id={id} className={over > 0 ? 'counter over' : 'counter'} data-testid={testId}>
      {length} / {max}
      {over > 0 ? ` — ${over} over the limit` : ''}
    </span>
  );
}
