/** The API's tRPC endpoint: `VITE_API_URL` at build time, else the API `pnpm dev` runs. */
export const API_URL: string = import.meta.env.VITE_API_URL ?? 'http://127.0.0.1:8000/trpc';

/** The local-only sign-in route beside the API; it exists only when the API runs on its local defaults. */
export const DEV_TOKEN_URL: string = new URL('/dev/token', API_URL).href;
