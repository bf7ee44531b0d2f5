/** The bar on every page: the app's name, search, and who is logged in (or how to). */
import Link from 'next/link';
import type { User } from '@chirp/contracts';
import { logOut } from '../lib/actions';
import { Logo } from './Logo';

export function Nav({ user }: { user: User | null }) {
  return (
    <header className="site-header">
      <nav aria-label="Main" className="nav">
        <Link href="/" className="brand">
          <Logo />
          Chirp
        </Link>
        <form action="/search" method="get" role="search" className="nav-search">
          <label htmlFor="nav-q" className="visually-hidden">
            Search posts and people
          </label>
          <input id="nav-q" name="q" type="search" placeholder="Search" maxLength={200} />
        </form>
        <ul className="nav-links">
          <li>
            <Link href="/transports">Transports</Link>
          </li>
          {user ? (
            <>
              <li>
                <Link href={`/u/${encodeURIComponent(user.username)}`}>@{user.username}</Link>
              </li>
              <li>
                <form action={logOut}>
                  <button type="submit" className="link-button">
                    Log out
                  </button>
                </form>
              </li>
            </>
          ) : (
            <>
              <li>
                <Link href="/login">Log in</Link>
              </li>
              <li>
                <Link href="/signup">Sign up</Link>
              </li>
            </>
          )}
        </ul>
      </nav>
    </header>
  );
}
