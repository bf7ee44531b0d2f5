/** An unknown page or user. */
import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="problem-box">
      <h1>Not found</h1>
      <p>There is no page or user by that name.</p>
      <p>
        <Link href="/">Go home</Link> or <Link href="/search">search</Link>.
      </p>
    </section>
  );
}
