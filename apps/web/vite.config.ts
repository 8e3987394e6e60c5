import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `pnpm dev` at the repository root serves this app beside the API (see apps/server/src/dev);
// `pnpm --filter @coach/web dev` serves it alone, against VITE_API_URL or the local API.
export default defineConfig({
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  build: { target: 'es2022' },
});
