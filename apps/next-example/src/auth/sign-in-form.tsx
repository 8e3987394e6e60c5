import { signIn } from './actions.ts';

/** A server-rendered form: works before any JavaScript has loaded. */
export function SignInForm() {
  return (
    <form action={signIn} className="card">
      <h2>Sign in</h2>
      <p>
        Paste a bearer token the API accepts: with <code>pnpm dev</code> running, <code>pnpm token</code> prints one.
      </p>
      <label>
        Bearer token
        <input name="token" type="password" autoComplete="off" required />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}
