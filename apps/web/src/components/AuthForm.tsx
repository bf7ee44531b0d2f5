'use client';
/**
 * The log-in and sign-up form: labelled fields, the server action's error in words, and a
 * button that says it is working. Without JavaScript it still posts (a server action form).
 */
import { useActionState, useEffect, useId, useState } from 'react';
import type { FormState } from '../app/actions';
import { randomKey } from './random-key';

interface Props {
  action: (previous: FormState, form: FormData) => Promise<FormState>;
  submitLabel: string;
  busyLabel: string;
  /** Sign-up: hints under the fields and a new-password autocomplete. */
  newAccount?: boolean;
}

export function AuthForm({ action, submitLabel, busyLabel, newAccount = false }: Props) {
  const [state, formAction, pending] = useActionState<FormState, FormData>(action, {});
  const [key, setKey] = useState('');
  const id = useId();
  useEffect(() => setKey(randomKey()), []);

  return (
    <form action={formAction} className="stack">
      <div className="field">
        <label htmlFor={`${id}-username`}>Username</label>
        <input
          id={`${id}-username`}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={newAccount ? 20 : 64}
          aria-describedby={newAccount ? `${id}-username-hint` : undefined}
        />
        {newAccount ? (
          <p id={`${id}-username-hint`} className="hint">
            3 to 20 letters, digits or underscores.
          </p>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          name="password"
          type="password"
          autoComplete={newAccount ? 'new-password' : 'current-password'}
          required
          minLength={newAccount ? 8 : undefined}
          aria-describedby={newAccount ? `${id}-password-hint` : undefined}
        />
        {newAccount ? (
          <p id={`${id}-password-hint`} className="hint">
            At least 8 characters.
          </p>
        ) : null}
      </div>
      {newAccount ? <input type="hidden" name="idempotencyKey" value={key} /> : null}
      {state.error ? (
        <p role="alert" className="problem">
          {state.error}
        </p>
      ) : null}
      <button type="submit" disabled={pending}>
        {pending ? busyLabel : submitLabel}
      </button>
    </form>
  );
}
