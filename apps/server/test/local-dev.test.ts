import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJobEventHub, createTokenVerifier, silentLogger, type Logger } from '@coach/api';
import { createClient } from '@coach/client';

import { ALLOWED_ORIGIN, startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { buildApp } from '../src/app.ts';
import { startBanner } from '../src/banner.ts';
import { runsOnLocalDefaults } from '../src/dev/local-defaults.ts';
import { setUpLocalDev } from '../src/dev/local-dev.ts';
import { startWebDevServer } from '../src/dev/web-dev-server.ts';
import { ConfigError, loadConfig } from '../src/env.ts';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/coach',
  AWS_REGION: 'eu-west-1',
  S3_COACH_VIDEOS_BUCKET: 'coach-videos-prod',
  SQS_VIDEO_ANALYSIS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/video-analysis',
  AUTH_JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
  CORS_ORIGINS: 'https://app.example.com',
};

let server: TestServer;
let dataDir: string;
const secret = randomBytes(32).toString('base64url');

beforeAll(async () => {
  server = await startTestServer();
  // The dev secret `pnpm dev` and `pnpm run token` share, in a data directory of this test's own.
  dataDir = await mkdtemp(path.join(tmpdir(), 'local-dev-'));
  await writeFile(path.join(dataDir, 'dev-jwt-secret'), secret);
});
afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The API as main.ts wires it (buildApp, then setUpLocalDev), on the test server's database and storage. */
async function startApi(env: Record<string, string>, options: { devCorsOrigins?: boolean; logger?: Logger } = {}) {
  // The web origin the browser tests use stands in for the dev allow-list, in CORS and in the token route alike.
  const config = loadConfig(options.devCorsOrigins ? env : { CORS_ORIGINS: ALLOWED_ORIGIN, ...env });
  const app = await buildApp(
    { corsOrigins: config.corsOrigins },
    {
      db: server.db,
      storage: server.storage,
      queue: server.queue,
      outbox: server.outbox,
      config: server.config,
      jobEvents: createJobEventHub({ db: server.db }),
      verifyToken: createTokenVerifier({ kind: 'hs256', secret }),
    },
  );
  const localDev = setUpLocalDev(app, config, options.logger ?? silentLogger);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, localDev };
}

const requestToken = (url: string, body: unknown) =>
  fetch(`${url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ALLOWED_ORIGIN },
    body: JSON.stringify(body),
  });

/** A token request over real HTTP with headers fetch would not let a caller set (Host). */
function rawTokenRequest(url: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const { port } = new URL(url);
  const payload = JSON.stringify({ userId: 'coach-web', role: 'coach_pro_plus' });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/dev/token',
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('runsOnLocalDefaults', () => {
  it('holds for the zero-configuration local setup, and for nothing else', () => {
    expect(runsOnLocalDefaults(loadConfig({}))).toBe(true);
    expect(runsOnLocalDefaults(loadConfig(production))).toBe(false);
    expect(runsOnLocalDefaults(loadConfig({ AUTH_JWT_SECRET: 'a-shared-secret-of-at-least-32-chars' }))).toBe(false);
    expect(runsOnLocalDefaults(loadConfig({ DATABASE_URL: 'postgres://me@127.0.0.1:5432/coach' }))).toBe(false);
    expect(runsOnLocalDefaults(loadConfig({ HOST: '0.0.0.0' }))).toBe(false);
    expect(
      runsOnLocalDefaults(
        loadConfig({
          AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
          S3_COACH_VIDEOS_BUCKET: 'videos',
          SQS_VIDEO_ANALYSIS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/video-analysis',
          SQS_VIDEO_ANALYSIS_DLQ_URL: 'http://127.0.0.1:4566/000000000000/video-analysis-dlq',
        }),
      ),
    ).toBe(false);
  });
});

describe('POST /dev/token', () => {
  it('on the local defaults, signs a token for a local user that the API accepts, from the web origin', async () => {
    const { app, url, localDev } = await startApi({ EMBEDDED_DATA_DIR: dataDir });
    try {
      expect(localDev).toBeDefined();
      const response = await requestToken(url, { userId: 'coach-web', role: 'coach_pro_plus' });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      const body = (await response.json()) as { token: string; expiresIn: number };
      expect(body.expiresIn).toBe(12 * 3600);
      const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, number>;
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(12 * 3600);
      expect((claims.exp ?? 0) * 1000).toBeGreaterThan(Date.now());

      const api = createClient({ url: `${url}/trpc`, token: body.token });
      const session = await api.sessions.create.mutate({ title: 'From the web app', playerIds: [] });
      expect(session).toMatchObject({ ownerType: 'coach', ownerId: 'coach-web', createdBy: 'coach-web' });

      const org = await requestToken(url, { userId: 'staff-1', role: 'org_pro', orgId: 'org-local' });
      const orgApi = createClient({ url: `${url}/trpc`, token: ((await org.json()) as { token: string }).token });
      expect(await orgApi.sessions.create.mutate({ title: 'Org', playerIds: [] })).toMatchObject({
        ownerType: 'org',
        ownerId: 'org-local',
      });
    } finally {
      await app.close();
    }
  });

  it('refuses roles the API would refuse, and org staff without an org, in the API error shape', async () => {
    const { app, url } = await startApi({ EMBEDDED_DATA_DIR: dataDir });
    try {
      for (const body of [
        { userId: 'x', role: 'coach_free' },
        { userId: 'x', role: 'org_pro' },
        { userId: '', role: 'coach_pro_plus' },
        { userId: 'x', role: 'coach_pro_plus', admin: true },
      ]) {
        const response = await requestToken(url, body);
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ error: { data: { appCode: 'INVALID_INPUT', httpStatus: 400 } } });
      }
    } finally {
      await app.close();
    }
  });

  it('answers only requests addressed to a loopback name: a page rebound to 127.0.0.1 gets 403, whatever else it sends', async () => {
    const { app, url } = await startApi({ EMBEDDED_DATA_DIR: dataDir });
    const { port } = new URL(url);
    try {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`, '127.0.0.1']) {
        const response = await rawTokenRequest(url, { host });
        expect(response.status, host).toBe(200);
        expect(response.body).toMatchObject({ token: expect.any(String) });
      }
      const refused: Record<string, string>[] = [
        { host: `attacker.example:${port}` },
        { host: 'attacker.example' },
        // The page can set any header on its own origin; only Host says where the request was addressed.
        { host: `attacker.example:${port}`, 'x-forwarded-host': `127.0.0.1:${port}` },
        { host: `127.0.0.1.attacker.example:${port}` },
        { host: `localhost.attacker.example` },
        { host: `127.1:${port}` },
        { host: `[::ffff:127.0.0.1]:${port}` },
      ];
      for (const headers of refused) {
        const response = await rawTokenRequest(url, headers);
        expect(response.status, headers.host).toBe(403);
        expect(response.body).toMatchObject({
          error: {
            message: expect.stringContaining('127.0.0.1, localhost or [::1]'),
            code: -32003,
            data: { code: 'FORBIDDEN', httpStatus: 403, appCode: 'DEV_TOKEN_FORBIDDEN', requestId: expect.any(String) },
          },
        });
        expect(JSON.stringify(response.body)).not.toContain('"token"');
      }
    } finally {
      await app.close();
    }
  });

  it('answers browsers only from the dev CORS allow-list; callers without an Origin (curl, scripts) still get a token', async () => {
    const { app, url } = await startApi({ EMBEDDED_DATA_DIR: dataDir });
    const host = new URL(url).host;
    try {
      const allowed = await rawTokenRequest(url, { host, origin: ALLOWED_ORIGIN });
      expect(allowed.status).toBe(200);
      expect((await rawTokenRequest(url, { host })).status).toBe(200);

      // What a rebound page's same-origin POST carries, and other origins the allow-list does not name.
      for (const origin of [
        `http://attacker.example:${new URL(url).port}`,
        'null',
        'http://127.0.0.1:5174',
        `${ALLOWED_ORIGIN}.evil`,
      ]) {
        const response = await rawTokenRequest(url, { host, origin });
        expect(response.status, origin).toBe(403);
        expect(response.body).toMatchObject({
          error: {
            message: expect.stringContaining(`not to pages from ${origin}`),
            data: { httpStatus: 403, appCode: 'DEV_TOKEN_FORBIDDEN' },
          },
        });
      }
      // The allow-list is the server's own: the default dev origins when CORS_ORIGINS is unset.
      const defaults = await startApi({
        EMBEDDED_DATA_DIR: dataDir,
        CORS_ORIGINS: 'http://127.0.0.1:5173,http://localhost:5173',
      });
      try {
        const fromWebApp = await rawTokenRequest(defaults.url, {
          host: new URL(defaults.url).host,
          origin: 'http://127.0.0.1:5173',
        });
        expect(fromWebApp.status).toBe(200);
        const fromElsewhere = await rawTokenRequest(defaults.url, { host: new URL(defaults.url).host, origin: ALLOWED_ORIGIN });
        expect(fromElsewhere.status).toBe(403);
      } finally {
        await defaults.app.close();
      }
    } finally {
      await app.close();
    }
  });

  it('does not exist in production, nor with any real auth, database or host setting', async () => {
    const setups: Record<string, string>[] = [
      production,
      { AUTH_JWT_SECRET: 'a-shared-secret-of-at-least-32-chars' },
      { HOST: '0.0.0.0' },
    ];
    for (const env of setups) {
      const { app, url, localDev } = await startApi(env);
      try {
        expect(localDev).toBeUndefined();
        const response = await requestToken(url, { userId: 'coach-web', role: 'coach_pro_plus' });
        expect(response.status).toBe(404);
        expect(await response.json()).toMatchObject({ error: { data: { appCode: 'NOT_FOUND' } } });
      } finally {
        await app.close();
      }
    }
  });
});

describe('the web app in pnpm dev (WEB_PORT)', () => {
  it('the dev CORS origins name each local web app as both localhost and 127.0.0.1, and follow WEB_PORT', () => {
    expect(loadConfig({}).corsOrigins).toEqual([
      'http://127.0.0.1:5173',
      'http://localhost:5173',
      'http://127.0.0.1:3000',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ WEB_PORT: '5180' }).corsOrigins).toEqual([
      'http://127.0.0.1:5180',
      'http://localhost:5180',
      'http://127.0.0.1:3000',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ WEB_PORT: '5180', CORS_ORIGINS: 'https://app.example.com' }).corsOrigins).toEqual([
      'https://app.example.com',
    ]);
    for (const bad of ['0', '70000', 'web']) {
      expect(() => loadConfig({ WEB_PORT: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ WEB_PORT: bad }), bad).toThrow(/WEB_PORT/);
    }
  });

  it('serves the web app on WEB_PORT, and the API answers its pages under either name', async () => {
    const port = await freePort();
    const { app, url, localDev } = await startApi(
      { EMBEDDED_DATA_DIR: dataDir, WEB_PORT: String(port) },
      { devCorsOrigins: true },
    );
    try {
      const web = await localDev?.serveWebApp(`${url}/trpc`);
      expect(web).toEqual({ url: `http://127.0.0.1:${port}` });
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain('<div id="root"></div>');
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
        const preflight = await fetch(`${url}/trpc/sessions.create`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type',
          },
        });
        expect(preflight.headers.get('access-control-allow-origin'), origin).toBe(origin);
        const token = await rawTokenRequest(url, { host: new URL(url).host, origin });
        expect(token.status, origin).toBe(200);
      }
      expect(startBanner({ address: url, web })).toContain(`  web:    http://127.0.0.1:${port}\n`);
    } finally {
      await app.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow('fetch failed');
  }, 30_000);

  it('when WEB_PORT is taken, the API still starts and the banner says the web app did not, why, and what to do', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(msg ?? '') };
    const { app, url, localDev } = await startApi(
      { EMBEDDED_DATA_DIR: dataDir, WEB_PORT: String(port) },
      { devCorsOrigins: true, logger },
    );
    try {
      const web = await localDev?.serveWebApp(`${url}/trpc`);
      const reason = `port ${port} is in use by another program; stop it, or set WEB_PORT to a free port`;
      expect(web).toEqual({ notServed: reason });
      expect(warnings).toEqual([`web app not served: ${reason}`]);
      const banner = startBanner({ address: url, web });
      expect(banner).toContain(`Coach Plus API listening on ${url}`);
      expect(banner).toContain(
        `  web:    NOT STARTED: port ${port} is in use by another program; stop it, or set WEB_PORT to a free port\n`,
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  }, 30_000);
});

describe('startWebDevServer', () => {
  it('serves the web app pointed at the API, without taking over the process signals, and closes', async () => {
    const sigterm = process.listenerCount('SIGTERM');
    const start = await startWebDevServer({ apiUrl: 'http://127.0.0.1:8123/trpc', logger: silentLogger, port: 0 });
    if (!('server' in start)) throw new Error(`not served: ${start.notServed}`);
    const web = start.server;
    try {
      const html = await (await fetch(web.url)).text();
      expect(html).toContain('<div id="root"></div>');
      expect(html).toContain('/@vite/client');
      const config = await (await fetch(`${web.url}/src/config.ts`)).text();
      expect(config).toContain('http://127.0.0.1:8123/trpc');
      // Vite's own server would exit the process on SIGTERM, cutting the worker's shutdown short.
      expect(process.listenerCount('SIGTERM')).toBe(sigterm);
    } finally {
      await web.close();
    }
    await expect(fetch(web.url)).rejects.toThrow('fetch failed');
  }, 30_000);

  it('logs and skips a Vite that cannot start (a broken config), leaving nothing listening', async () => {
    const port = await freePort();
    const broken = path.join(dataDir, 'vite.config.mjs');
    await writeFile(broken, "throw new Error('a plugin this config needs is missing');\n");
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(msg ?? '') };

    const web = await startWebDevServer({ apiUrl: 'http://127.0.0.1:8123/trpc', logger, port, configFile: broken });

    expect(web).toEqual({ notServed: 'Vite could not start (the error is in the log above)' });
    expect(warnings).toEqual([expect.stringContaining('web app not served: Vite could not start')]);
    // The port is free again: the HTTP server opened for Vite was closed.
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow('fetch failed');
    const again = createNetServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  }, 30_000);
});

/** A port nobody listens on right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
