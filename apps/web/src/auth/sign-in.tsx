import { useId, useState, type FormEvent } from 'react';

import { requestDevToken, type LocalRole } from './request-dev-token.ts';
import { isExpired, readTokenClaims } from './token.ts';

/** Sign in as a local user (a token from the dev API) or with a pasted token. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string) => void; notice?: string }) {
  return (
    <section aria-labelledby="sign-in-heading" className="card">
      <h2 id="sign-in-heading">Sign in</h2>
      {notice && (
        <p role="alert" className="error">
          {notice}
        </p>
      )}
      <LocalUserForm onSignedIn={onSignedIn} />
      <PasteTokenForm onSignedIn={onSignedIn} />
    </section>
  );
}

function LocalUserForm({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const id = useId();
  const [userId, setUserId] = useState('coach-local');
  const [role, setRole] = useState<LocalRole>('coach_pro_plus');
  const [orgId, setOrgId] = useState('org-local');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await requestDevToken({ userId: userId.trim(), role, orgId: role === 'org_pro' ? orgId.trim() : undefined }));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} aria-labelledby={`${id}-legend`}>
      <h3 id={`${id}-legend`}>As a local user</h3>
      <p className="hint">
        The local API (started by <code>pnpm dev</code>) signs a token for any user you name.
      </p>
      <div className="field">
        <label htmlFor={`${id}-user`}>User id</label>
        <input id={`${id}-user`} value={userId} onChange={(e) => setUserId(e.target.value)} required autoComplete="username" />
      </div>
      <div className="field">
        <label htmlFor={`${id}-role`}>Role</label>
        <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as LocalRole)}>
          <option value="coach_pro_plus">Coach (coach_pro_plus)</option>
          <option value="org_pro">Organisation staff (org_pro)</option>
        </select>
      </div>
      {role === 'org_pro' && (
        <div className="field">
          <label htmlFor={`${id}-org`}>Organisation id</label>
          <input id={`${id}-org`} value={orgId} onChange={(e) => setOrgId(e.target.value)} required />
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function PasteTokenForm({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const id = useId();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    const claims = readTokenClaims(trimmed);
    if (!claims) return setError('That is not a token. Copy the whole output of `pnpm run token`.');
    if (isExpired(claims)) return setError('That token has expired. Make a new one with `pnpm run token`.');
    onSignedIn(trimmed);
  };

  return (
    <form onSubmit={submit} aria-labelledby={`${id}-legend`}>
      <h3 id={`${id}-legend`}>With a token</h3>
      <div className="field">
        <label htmlFor={`${id}-token`}>Bearer token</label>
        <textarea
          id={`${id}-token`}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          rows={3}
          spellCheck={false}
          aria-describedby={`${id}-token-hint`}
          required
        />
        <p id={`${id}-token-hint`} className="hint">
          From <code>pnpm run token --user coach-123 --role coach_pro_plus</code>.
        </p>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit">Use this token</button>
    </form>
  );
}
