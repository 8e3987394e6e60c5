import { useState } from 'react';

import { ApiProvider } from './api/trpc.tsx';
import { SignIn } from './auth/sign-in.tsx';
import { readTokenClaims, tokenStorage } from './auth/token.ts';
import { Workspace } from './workspace.tsx';

export function App() {
  const [token, setToken] = useState<string | null>(() => tokenStorage.load());
  const [notice, setNotice] = useState<string | undefined>();
  const claims = token ? readTokenClaims(token) : undefined;

  const signIn = (next: string) => {
    tokenStorage.save(next);
    setNotice(undefined);
    setToken(next);
  };
  const signOut = (why?: string) => {
    tokenStorage.clear();
    setNotice(why);
    setToken(null);
  };

  return (
    <>
      <header className="app-header">
        <h1>Coach Plus video analysis</h1>
        {claims && (
          <div className="who">
            <span>
              Signed in as <strong>{claims.userId}</strong> ({claims.role}
              {claims.orgId ? `, ${claims.orgId}` : ''})
            </span>
            <button type="button" className="secondary" onClick={() => signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main>
        {token && claims ? (
          <ApiProvider
            key={token}
            token={token}
            onAuthError={() => signOut('Your sign-in has expired or is not accepted by this API. Sign in again.')}
          >
            <Workspace />
          </ApiProvider>
        ) : (
          <SignIn onSignedIn={signIn} notice={notice} />
        )}
      </main>
    </>
  );
}
