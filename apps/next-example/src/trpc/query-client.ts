import { QueryClient } from '@tanstack/react-query';

/** The same defaults on the server (one per request) and in the browser (one per page). */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // What the server fetched is fresh when the page hydrates: no second request for it.
      queries: { staleTime: 30_000, refetchOnWindowFocus: false },
    },
  });
}
