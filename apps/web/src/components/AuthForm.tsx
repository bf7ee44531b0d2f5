'use client';
/**
 * The log-in and sign-up form: labelled fields, the server action's error in words, and a
 * button that says it is working. Without JavaScript it still posts (a server action form).
 */
import { useActionState, useEffect, useId, useState } from 'react';
import type { FormState } from '../lib/actions';
import { randomKey } from './random-key';

interface Props {
  action: (previous: FormState, form: FormData) => Promise<FormState>;
  submitLabel: string;
  busyLabel: string;
  /**
   * Sign-up: hints under the fields (the username's length checked as it is typed: a name over
   * the limit is reported, not cut short by the field) and a new-password autocomplete.
   */
  newAccount?: { usernameLength: { min: number; max: number } };
}

export function AuthForm({ action, submitLabel, busyLabel, newAccount }: Props) {
  const [state, formAction, pending] = useActionState<FormState, FormData>(action, {});
  const [key, setKey] = useState('');
  const [username, setUsername] = useState('');
  const id = useId();
  useEffect(() => setKey(randomKey()), []);
  const over = newAccount === undefined ? 0 : [...username].length - newAccount.usernameLength.max;

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
          value={username}
          onChange={(event) => setUsername(event.target.value)}
          aria-invalid={over > 0}
          aria-describedby={newAccount ? `${id}-username-hint` : undefined}
        />
        {newAccount ? (
          <p id={`${id}-username-hint`} className={over > 0 ? 'hint over' : 'hint'} data-testid="username-hint">
            {newAccount.usernameLength.min} to {newAccount.usernameLength.max} letters, digits or underscores
            {over > 0 ? ` — this one is ${over} too long.` : '.'}
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
