import 'server-only';

import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { cache } from 'react';

import { createClient, type AppRouter } from '@coach/client';

import { readToken } from '../auth/token-cookie.ts';
import { readConfig } from '../env.ts';
import { makeQueryClient } from './query-client.ts';

/** One query cache per request: what a server component fetches is what the page hydrates with. */
export const getQueryClient = cache(makeQueryClient);

/**
 * tRPC's server-components pattern with the API as a remote service: the
 * options proxy runs queries through the typed HTTP client, as the signed-in
 * user (the token from their cookie), into this request's query cache.
 */
export const getServerApi = cache(async () => {
  const { apiUrl } = readConfig();
  const token = await readToken();
  const client = createClient({ url: apiUrl, token });
  return {
    trpc: createTRPCOptionsProxy<AppRouter>({ client, queryClient: getQueryClient }),
    client,
  };
});
