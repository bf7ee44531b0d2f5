'use client';
/** When even the layout fails (the nav, the frame): a whole page of its own, still in words. */
import './globals.css';
import { PageFailure, type PageFailureProps } from '../components/PageFailure';

export default function GlobalError(props: PageFailureProps) {
  return (
    <html lang="en">
      <body>
        <main className="main">
          <PageFailure {...props} title="Chirp is having trouble" />
        </main>
      </body>
    </html>
  );
}
