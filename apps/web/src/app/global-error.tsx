'use client';
/** When even the layout fails (the nav, the frame): a whole page of its own, still in words. */
import './globals.css';

export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <main className="main">
          <section role="alert" className="problem-box">
            <h1>Chirp is having trouble</h1>
            <p>The page could not be shown just now. Please try again in a moment.</p>
            {error.digest ? <p className="muted">Reference: {error.digest}</p> : null}
            <button type="button" onClick={reset}>
              Try again
            </button>
          </section>
        </main>
      </body>
    </html>
  );
}
