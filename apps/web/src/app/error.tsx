'use client';
/**
 * The last resort when a page fails in a way it did not handle itself (pages show service
 * errors in place; this is for the rest). Words and a way to retry, never a stack: in
 * production Next hands the browser only a digest, which the server's log also carries.
 */
import { useEffect } from 'react';

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <section role="alert" className="problem-box">
      <h1>Something went wrong</h1>
      <p>This page could not be shown just now. Please try again in a moment.</p>
      {error.digest ? <p className="muted">Reference: {error.digest}</p> : null}
      <button type="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
