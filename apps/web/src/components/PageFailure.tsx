'use client';
/**
 * What error.tsx and global-error.tsx show when a page fails in a way it did not handle:
 * words and a way to retry, never a stack. In production Next hands the browser only a
 * digest, which the server's log also carries, so a person can quote it.
 */
export interface PageFailureProps {
  error: Error & { digest?: string };
  reset: () => void;
}

export function PageFailure({ error, reset, title }: PageFailureProps & { title: string }) {
  return (
    <section role="alert" className="problem-box">
      <h1>{title}</h1>
      <p>This page could not be shown just now. Please try again in a moment.</p>
      {error.digest ? <p className="muted">Reference: {error.digest}</p> : null}
      <button type="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
