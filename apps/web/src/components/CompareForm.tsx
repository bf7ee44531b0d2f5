'use client';
/**
 * The Transports page's "compare" button: pick an action, run it over every transport in turn
 * (the server does, lib/compare.ts), and say so while it runs — a comparison takes a few seconds.
 */
import { useActionState, useId } from 'react';
import { compare, type FormState } from '../lib/actions';

interface Props {
  actions: { name: string; label: string; runs: number }[];
  kinds: string[];
  /** The most a comparison can take, in seconds. */
  maxSeconds: number;
}

export function CompareForm({ actions, kinds, maxSeconds }: Props) {
  const [state, action, pending] = useActionState<FormState, FormData>(compare, {});
  const id = useId();
  return (
    <form action={action} className="compare-form" aria-label="Compare the transports">
      <label htmlFor={`${id}-action`}>Action</label>
      <select id={`${id}-action`} name="action" defaultValue={actions[0]?.name}>
        {actions.map((a) => (
          <option key={a.name} value={a.name}>
            {a.label} ×{a.runs}
          </option>
        ))}
      </select>
      <button type="submit" disabled={pending}>
        {pending ? 'Comparing…' : `Compare ${kinds.map((k) => k.toUpperCase()).join(', ')}`}
      </button>
      <p role="status" className="muted">
        {pending ? `Running it over each transport in turn: up to ${maxSeconds} s.` : ''}
      </p>
      {state.error ? (
        <p role="alert" className="problem">
          {state.error}
        </p>
      ) : null}
    </form>
  );
}
