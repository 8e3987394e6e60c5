import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';

import type { AppRouter } from './app-router.ts';

export interface CreateClientOptions {
  /** The API's tRPC endpoint, e.g. `http://127.0.0.1:8000/trpc`. */
  url: string;
  /**
   * A bearer token, or a function returning the current one: called per request and for every
   * connection of a live stream (the API ends a stream when its token expires), so refreshes apply.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Extra headers for every request (e.g. a trace id). */
  headers?: Record<string, string>;
  /** Custom fetch (tests, React Native polyfills). */
  fetch?: typeof fetch;
}

export type ApiClient = TRPCClient<AppRouter>;

/** A typed client for the Coach Plus API: plain JSON on the wire, batched requests. */
export function createClient(options: CreateClientOptions): ApiClient {
  const resolveToken = async () => (typeof options.token === 'function' ? await options.token() : options.token);
  const authHeaders = async (): Promise<Record<string, string>> => {
    const token = await resolveToken();
    return { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  };
  const baseFetch = options.fetch ?? globalThis.fetch;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Live job status over SSE. This EventSource (browsers and Node alike) is
        // fetch-based, so the token travels in a header, never in the URL.
        true: httpSubscriptionLink({
          url: options.url,
          EventSource,
          eventSourceOptions: () => ({ fetch: (input, init) => subscriptionFetch(baseFetch, authHeaders, input, init) }),
        }),
        false: httpBatchLink({
          url: options.url,
          fetch: options.fetch,
          // Batched queries travel in the URL; split batches before proxies start refusing them.
          maxURLLength: 2083,
          // The server refuses batches of more than 20 calls.
          maxItems: 20,
          headers: authHeaders,
        }),
      }),
    ],
  });
}

/**
 * One connection of a subscription. The EventSource reconnects by itself when a
 * stream ends without tRPC's end event (the server ends each stream when its
 * token expires), so the token is read for every connection, not once. On a
 * reconnect it also sends `Last-Event-ID`, a header a browser may send only if
 * the API's CORS rule allows it; tRPC reads the same value from the
 * `lastEventId` query parameter, so it travels there and the stream resumes
 * after the last event seen.
 */
async function subscriptionFetch(
  baseFetch: typeof fetch,
  authHeaders: () => Promise<Record<string, string>>,
  input: string | URL,
  init: { headers: Record<string, string> } & Omit<RequestInit, 'headers'>,
): Promise<Response> {
  const { 'Last-Event-ID': lastEventId, ...sent } = init.headers;
  const url = new URL(input);
  if (lastEventId) url.searchParams.set('lastEventId', lastEventId);
  return baseFetch(url, { ...init, headers: { ...sent, ...(await authHeaders()) } });
}
