import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import type { Logger } from '@coach/api';

import { REPO_ROOT } from './paths.ts';

/** The web app's host in development; the dev CORS allow-list names it (and `localhost`) with WEB_PORT. */
export const WEB_DEV_HOST = '127.0.0.1';

const WEB_ROOT = path.join(REPO_ROOT, 'apps/web');

export interface WebDevServer {
  url: string;
  close(): Promise<void>;
}

/** The web app's dev server, or why it is not served, in words for the start-up banner. */
export type WebDevServerStart = { server: WebDevServer } | { notServed: string };

/**
 * Serves `apps/web` with Vite's dev server (hot reload) pointed at this API.
 * A missing web app or Vite (a production install), a taken port or a Vite
 * that fails to start (a broken config) is logged and skipped, with the
 * reason returned for the banner: the API runs on without it, and nothing is
 * left listening. Never rejects.
 *
 * Vite runs in middleware mode on our own HTTP server: its standalone server
 * would exit the process on SIGTERM or when stdin closes, cutting the
 * worker's graceful shutdown short.
 */
export async function startWebDevServer(p: {
  apiUrl: string;
  logger: Logger;
  /** WEB_PORT (5173 by default), which the dev CORS allow-list follows; 0 picks a free port (tests). */
  port: number;
  /** Default `apps/web/vite.config.ts`; tests give a broken one. */
  configFile?: string;
}): Promise<WebDevServerStart> {
  const { port } = p;
  const configFile = p.configFile ?? path.join(WEB_ROOT, 'vite.config.ts');
  if (!existsSync(configFile)) return { notServed: `${path.relative(REPO_ROOT, configFile)} is not in this checkout` };
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (error) {
    p.logger.warn({ err: error }, 'web app not served: Vite is not installed (pnpm install)');
    return { notServed: 'Vite is not installed (run pnpm install)' };
  }

  const http = createServer();
  try {
    await listen(http, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${port} is in use by another program; stop it, or set WEB_PORT to a free port`
        : `could not listen on ${WEB_DEV_HOST}:${port} (${code ?? String(error)})`;
    // A taken port is an everyday event, not a fault: one line, no stack.
    p.logger.warn(code === 'EADDRINUSE' ? { port } : { err: error }, `web app not served: ${reason}`);
    return { notServed: reason };
  }
  let dev: import('vite').ViteDevServer;
  try {
    dev = await vite.createServer({
      root: WEB_ROOT,
      configFile,
      // Vite replaces import.meta.env.VITE_API_URL in the app with this.
      define: { 'import.meta.env.VITE_API_URL': JSON.stringify(p.apiUrl) },
      server: { middlewareMode: true, ws: { server: http } },
      appType: 'spa',
      clearScreen: false,
      logLevel: 'warn',
    });
  } catch (error) {
    // A broken config or plugin: free the port, so nothing is left listening without an app behind it.
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    p.logger.warn({ err: error }, 'web app not served: Vite could not start (see the error)');
    return { notServed: 'Vite could not start (the error is in the log above)' };
  }
  http.on('request', dev.middlewares);
  const { port: actualPort } = http.address() as AddressInfo;
  return {
    server: {
      url: `http://${WEB_DEV_HOST}:${actualPort}`,
      async close() {
        await dev.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      },
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, WEB_DEV_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
