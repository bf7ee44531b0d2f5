/** Sign up: choose a username and password; you are logged in straight after. */
import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { AuthForm } from '../../components/AuthForm';
import { USERNAME_LENGTH } from '../../lib/input';
import { navViewer } from '../../lib/session';
import { signUp } from '../../lib/actions';

export const metadata: Metadata = { title: 'Sign up' };

export default async function SignupPage() {
  if ((await navViewer()) !== null) redirect('/');
  return (
    <section className="card narrow" aria-labelledby="signup-heading">
      <h1 id="signup-heading">Create your account</h1>
      <AuthForm
        action={signUp}
        submitLabel="Sign up"
        busyLabel="Creating your account…"
        newAccount={{ usernameLength: USERNAME_LENGTH }}
      />
      <p className="muted">
        Have an account? <Link href="/login">Log in</Link>.
      </p>
    </section>
  );
}
