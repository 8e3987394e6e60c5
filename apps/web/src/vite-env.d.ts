/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's tRPC endpoint, e.g. `https://api.example.com/trpc`. */
  readonly VITE_API_URL?: string;
}
