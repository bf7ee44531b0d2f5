/**
 * Every page's frame: the nav (who is logged in) and the main column. Plain CSS with the
 * system font stack: nothing is fetched from another site.
 */
import type { Metadata, Viewport } from 'next';
import { Nav } from '../components/Nav';
import { navViewer } from '../lib/session';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Chirp', template: '%s · Chirp' },
  description: 'A 141-character social network whose services talk over HTTP, AMQP, TCP or UDP.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#1d6fa5' };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const viewer = await navViewer();
  return (
    <html lang="en">
      <body>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <Nav user={viewer?.user ?? null} />
        <main id="main" className="main">
          {children}
        </main>
      </body>
    </html>
  );
}
