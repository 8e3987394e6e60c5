import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';

// Type-only: a frontend bundle that imports this package never pulls server code.
import type { AppErrorCode, AppRouter, RouterInputs, RouterOutputs } from '@coach/api';

export type { AppErrorCode, AppRouter, RouterInputs, RouterOutputs };

export interface CreateClientOptions {
  /** The API's tRPC endpoint, e.g. `http://127.0.0.1:8000/trpc`. */
  url: string;
  /** A bearer token, or a function returning the current one (called per request, so refreshes apply). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Extra headers for every request (e.g. a trace id). */
  headers?: Record<string, string>;
  /** Custom fetch (tests, React Native polyfills). */
  fetch?: typeof fetch;
}

export type ApiClient = TRPCClient<AppRouter>;

/** A typed client for the Coach Plus API: plain JSON on the wire, batched requests. */
export function createClient(options: CreateClientOptions): ApiClient {
  const resolveToken = async () =>
    typeof options.token === 'function' ? await options.token() : options.token;
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
          eventSourceOptions: async () => {
            const headers = await authHeaders();
            return {
              fetch: (input, init) => baseFetch(input, { ...init, headers: { ...init.headers, ...headers } }),
            };
          },
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

/** The stable error code of a failed call (`SESSION_NOT_FOUND`, `UPLOAD_NOT_FOUND`, …), if it has one. */
export function errorCodeOf(error: unknown): AppErrorCode | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data: unknown = error.data;
  if (typeof data === 'object' && data !== null && 'appCode' in data && typeof data.appCode === 'string') {
    // The server only ever sends codes from APP_ERROR_CODES.
    return data.appCode as AppErrorCode;
  }
  return undefined;
}

export { TRPCClientError };
