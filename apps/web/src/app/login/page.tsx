/** Log in: username and password for a session cookie. Already logged in: home. */
import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { AuthForm } from '../../components/AuthForm';
import { navViewer } from '../../lib/session';
import { logIn } from '../../lib/actions';

export const metadata: Metadata = { title: 'Log in' };

export default async function LoginPage() {
  if ((await navViewer()) !== null) redirect('/');
  return (
    <section className="card narrow" aria-labelledby="login-heading">
      <h1 id="login-heading">Log in</h1>
      <AuthForm action={logIn} submitLabel="Log in" busyLabel="Logging in…" />
      <p className="muted">
        New here? <Link href="/signup">Create an account</Link>.
      </p>
    </section>
  );
}
