import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiClient } from '@coach/client';
import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { ALLOWED_ORIGIN, startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';
import { chromiumPath, launchChromium } from '../../web/test/support/chromium.ts';
import { APP_ROOT, buildNextApp, startNextApp, type RunningNextApp } from './support/next-app.ts';

/** Real footage the worker tests analyse: 12 s of people walking in a street (see that test for its origin). */
const STREET_CLIP = path.resolve(import.meta.dirname, '../../../packages/worker/test/fixtures/street-people.mp4');
/** Where the page is opened: the origin the test API's CORS allow-list names, resolved to the Next server. */
const APP_URL = `${ALLOWED_ORIGIN}/`;

let server: TestServer;
let worker: Worker;
let client: ApiClient;
let token: string;
let distDir: string;
let next: RunningNextApp;
let browser: Browser;

beforeAll(async () => {
  chromiumPath(); // before anything slow: without Chromium this fails at once, saying how to install it
  server = await startTestServer();
  client = server.clientFor(coachA);
  token = await server.tokenFor(coachA);
  worker = await startTestWorker(server, { env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' } });
  distDir = path.relative(APP_ROOT, await mkdtemp(path.join(APP_ROOT, '.next-e2e-')));
  await buildNextApp(distDir);
  // Production mode (`next start`), pointed at the test API by its environment alone.
  next = await startNextApp(distDir, { COACH_API_URL: server.trpcUrl });
  browser = await launchChromium({ [new URL(ALLOWED_ORIGIN).hostname]: `127.0.0.1:${next.port}` });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await next?.stop();
  await worker?.stop();
  await server?.close();
  if (distDir) await rm(path.join(APP_ROOT, distDir), { recursive: true, force: true });
});

/** Every job status the page shows, in order (set up before the job view appears). */
async function recordJobStatuses(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
    new MutationObserver(() => {
      const status = document.querySelector('[data-job-status]')?.getAttribute('data-job-status');
      if (status && seen.at(-1) !== status) seen.push(status);
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);
}

describe('the Next.js example in production mode, against a real API, emulator and worker', () => {
  it('renders the signed-in user’s sessions on the server', async () => {
    const { sessionId } = await client.sessions.create.mutate({ title: 'Nets, Thursday' });

    const signedOut = await (await fetch(`${next.url}/`)).text();
    expect(signedOut).toContain('Bearer token');
    expect(signedOut).not.toContain('Nets, Thursday');

    // The HTML as the server sends it, before any script runs: the list is in it.
    const response = await fetch(`${next.url}/`, { headers: { cookie: `coach_token=${token}` } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`<li data-session-id="${sessionId}">Nets, Thursday`);

    const rejected = await (await fetch(`${next.url}/`, { headers: { cookie: 'coach_token=not-a-token' } })).text();
    expect(rejected).toContain('The API did not accept your token');
  });

  it('in headless Chromium: signs in, creates a session, uploads a clip with uploadVideo and follows jobs.watch to completed', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(APP_URL);

      await page.getByLabel('Bearer token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Your sessions' }).waitFor();

      // A server action creates it through the typed client; the server component lists it.
      await page.getByLabel('New session title').fill('Street footage');
      await page.getByRole('button', { name: 'Create session' }).click();
      const created = page.locator('li[data-session-id]', { hasText: 'Street footage' });
      await created.waitFor();
      const sessionId = (await created.getAttribute('data-session-id')) ?? '';
      expect((await client.sessions.get.query({ sessionId })).title).toBe('Street footage');
      // The upload form's choice of sessions comes from the server's answer, hydrated.
      await page.getByLabel('Upload to session').selectOption(sessionId);

      const statuses = await recordJobStatuses(page);
      await page.getByLabel('Video file').setInputFiles(STREET_CLIP);
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.locator('[data-job-status="completed"]').waitFor({ timeout: 120_000 });

      expect(await page.getByTestId('upload-percent').textContent()).toBe('100%');
      const seen = await statuses();
      const order = ['connecting', 'queued', 'processing', 'completed'];
      expect(
        seen.every((s) => order.includes(s)),
        seen.join(' → '),
      ).toBe(true);
      const ranks = seen.map((s) => order.indexOf(s));
      expect(ranks).toEqual(ranks.toSorted((a, b) => a - b));

      const jobs = await client.jobs.list.query({ sessionId });
      expect(jobs.items.map((job) => job.status)).toEqual(['completed']);
      expect(pageErrors).toEqual([]);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Bearer token').waitFor();
      expect(await context.cookies()).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);
});
