import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { createContext, useContext, useState, type ReactNode } from 'react';

import { createClient, errorCodeOf, type AppErrorCode, type AppRouter } from '@coach/client';

import { API_URL } from '../config.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

const AUTH_ERRORS: readonly (AppErrorCode | undefined)[] = ['UNAUTHENTICATED', 'TOKEN_INVALID', 'TOKEN_EXPIRED'];

const AuthErrorContext = createContext<(error: unknown) => void>(() => {});

/**
 * Reports an error from outside the query cache (a subscription's): one
 * saying the token is no longer accepted signs the user out, as a query's does.
 * The API ends a live stream when its token expires; the reconnect with the
 * same token is refused, and lands here.
 */
export const useAuthErrorHandler = () => useContext(AuthErrorContext);
/** Answers that say "try again later"; every other error would repeat, so it is not retried. */
const TRANSIENT_ERRORS: readonly (AppErrorCode | undefined)[] = [
  undefined,
  'SERVICE_UNAVAILABLE',
  'TOO_MANY_REQUESTS',
  'INTERNAL',
];

/**
 * The typed API for one signed-in user: a fresh client and query cache per
 * token (mount it with `key={token}`), so nothing cached crosses users. An
 * answer saying the token is no longer accepted calls `onAuthError`.
 */
export function ApiProvider({ token, onAuthError, children }: { token: string; onAuthError: () => void; children: ReactNode }) {
  const [onError] = useState(() => (error: unknown) => {
    if (AUTH_ERRORS.includes(errorCodeOf(error))) onAuthError();
  });
  const [queryClient] = useState(() => {
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: {
        queries: {
          retry: (failures, error) => failures < 3 && TRANSIENT_ERRORS.includes(errorCodeOf(error)),
          refetchOnWindowFocus: false,
        },
      },
    });
  });
  const [trpcClient] = useState(() => createClient({ url: API_URL, token }));
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <AuthErrorContext value={onError}>{children}</AuthErrorContext>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
