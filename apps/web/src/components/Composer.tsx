'use client';
/**
 * Write a post: a live counter of characters as the posts service counts them (code points
 * after trimming), the button disabled while the post is empty or over the limit, and the
 * server's answer (an error in words, gone once the draft changes, or a cleared box) under it.
 * The server action checks the length again: the counter is a courtesy, not the rule.
 */
import { useActionState, useEffect, useId, useState } from 'react';
import { createPost, type FormState } from '../lib/actions';
import { postLength } from '../lib/text';
import { randomKey } from './random-key';

export function Composer({ maxChars }: { maxChars: number }) {
  const [state, action, pending] = useActionState<FormState, FormData>(createPost, {});
  const [text, setText] = useState('');
  const [key, setKey] = useState('');
  // The answer whose error the writer has since edited the draft past: no longer shown.
  const [editedSince, setEditedSince] = useState<FormState>();
  const error = editedSince === state ? undefined : state.error;
  const id = useId();
  const length = postLength(text);
  const over = length - maxChars;

  // A new key per draft; after a successful post, an empty box and a new draft.
  useEffect(() => setKey(randomKey()), []);
  useEffect(() => {
    if (state.done === undefined) return;
    setText('');
    setKey(randomKey());
  }, [state.done]);

  return (
    <form action={action} className="composer" aria-label="New post">
      <label htmlFor={`${id}-text`}>What&apos;s happening?</label>
      <textarea
        id={`${id}-text`}
        name="text"
        rows={3}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setEditedSince(state);
        }}
        aria-describedby={`${id}-count`}
        aria-invalid={over > 0}
      />
      <input type="hidden" name="idempotencyKey" value={key} />
      <div className="composer-footer">
        <span id={`${id}-count`} className={over > 0 ? 'counter over' : 'counter'} data-testid="counter">
          {length} / {maxChars}
          {over > 0 ? ` — ${over} over the limit` : ''}
        </span>
        <button type="submit" disabled={pending || length === 0 || over > 0}>
          {pending ? 'Posting…' : 'Post'}
        </button>
      </div>
      {error ? (
        <p role="alert" className="problem">
          {error}
        </p>
      ) : null}
    </form>
  );
}
