import { dehydrate, HydrationBoundary } from '@tanstack/react-query';

import { errorCodeOf, type AppErrorCode } from '@coach/client';

import { signOut } from '../auth/actions.ts';
import { SignInForm } from '../auth/sign-in-form.tsx';
import { readToken } from '../auth/token-cookie.ts';
import { readConfig } from '../env.ts';
import { SessionList } from '../sessions/session-list.tsx';
import { ApiProvider } from '../trpc/client.tsx';
import { getQueryClient, getServerApi } from '../trpc/server.ts';
import { UploadPanel } from '../upload/upload-panel.tsx';

const AUTH_ERRORS: readonly (AppErrorCode | undefined)[] = ['UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED'];

/**
 * A server component: fetches the user's sessions through the typed client on
 * the server and renders them into the HTML; the same answer seeds the
 * browser's query cache (HydrationBoundary) for the upload form.
 */
export default async function HomePage() {
  const token = await readToken();
  if (!token) return <SignInForm />;

  const { trpc } = await getServerApi();
  const queryClient = getQueryClient();
  let sessions;
  try {
    sessions = await queryClient.fetchQuery(trpc.sessions.list.queryOptions({ limit: 50 }));
  } catch (error) {
    if (!AUTH_ERRORS.includes(errorCodeOf(error))) throw error;
    return (
      <main>
        <p role="alert">The API did not accept your token ({errorCodeOf(error)}). Sign in again.</p>
        <form action={signOut}>
          <button type="submit">Sign out</button>
        </form>
      </main>
    );
  }

  return (
    <main>
      <h1>Coach Plus</h1>
      <form action={signOut}>
        <button type="submit">Sign out</button>
      </form>
      <SessionList page={sessions} />
      <ApiProvider apiUrl={readConfig().apiUrl} token={token}>
        <HydrationBoundary state={dehydrate(queryClient)}>
          <UploadPanel />
        </HydrationBoundary>
      </ApiProvider>
    </main>
  );
}
