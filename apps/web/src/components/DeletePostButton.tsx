'use client';
/**
 * Delete one's own post, after a confirmation: the post leaves every timeline and search, and
 * followers' open pages drop it (notify's post.deleted). A refusal is said under the post.
 */
import { useActionState, type FormEvent } from 'react';
import { deletePost, type FormState } from '../lib/actions';

export function DeletePostButton({ postId }: { postId: string }) {
  const [state, action, pending] = useActionState<FormState, FormData>(deletePost, {});
  const confirmFirst = (event: FormEvent) => {
    if (!window.confirm('Delete this post? This cannot be undone.')) event.preventDefault();
  };
  return (
    <form action={action} onSubmit={confirmFirst} className="delete-post">
      <input type="hidden" name="postId" value={postId} />
      <button type="submit" className="link-button" disabled={pending}>
        {pending ? 'Deleting…' : 'Delete'}
      </button>
      {state.error ? (
        <p role="alert" className="problem">
          {state.error}
        </p>
      ) : null}
    </form>
  );
}
