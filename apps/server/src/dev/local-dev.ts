import type { FastifyInstance } from 'fastify';

import type { Logger } from '@coach/api';

import type { ServerConfig } from '../env.ts';
import { loadOrCreateDevSecret } from './dev-secret.ts';
import { registerDevTokenRoute } from './dev-token-route.ts';
import { runsOnLocalDefaults } from './local-defaults.ts';
import { dataDir } from './paths.ts';
import { startWebDevServer, type WebDevServer, type WebDevServerStart } from './web-dev-server.ts';

export interface LocalDev {
  /** Starts the web app's dev server (on WEB_PORT) against `apiUrl`; resolves with its URL, or why it could not start. */
  serveWebApp(apiUrl: string): Promise<{ url: string } | { notServed: string }>;
}

/**
 * The extras of `pnpm dev` on the local defaults: `POST /dev/token` for the
 * web app's sign-in, and the web app itself (started once the API listens,
 * stopped when the app closes). Call before `listen`. Undefined, and nothing
 * registered, on any other setup (always in production).
 */
export function setUpLocalDev(app: FastifyInstance, config: Readonly<ServerConfig>, logger: Logger): LocalDev | undefined {
  if (!runsOnLocalDefaults(config)) return undefined;
  registerDevTokenRoute(app, {
    secret: loadOrCreateDevSecret(dataDir(config.embeddedDataDir)),
    allowedOrigins: config.corsOrigins,
  });
  let web: WebDevServer | undefined;
  app.addHook('onClose', async () => {
    await web?.close();
  });
  return {
    async serveWebApp(apiUrl) {
      const start: WebDevServerStart = await startWebDevServer({ apiUrl, logger, port: config.webPort });
      if ('notServed' in start) return start;
      web = start.server;
      return { url: web.url };
    },
  };
}
