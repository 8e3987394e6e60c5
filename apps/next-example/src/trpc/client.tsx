'use client';

import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';

import { createClient, type AppRouter } from '@coach/client';

import { makeQueryClient } from './query-client.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;

/** A fresh cache for each server render; one for the page's life in the browser (kept across suspensions). */
function getQueryClient(): QueryClient {
  if (typeof window === 'undefined') return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

/**
 * The typed API in the browser: the client components call the API directly
 * (uploads go straight to storage, job status streams over SSE), with the URL
 * and token the server component hands down.
 */
export function ApiProvider({ apiUrl, token, children }: { apiUrl: string; token: string; children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() => createClient({ url: apiUrl, token }));
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
