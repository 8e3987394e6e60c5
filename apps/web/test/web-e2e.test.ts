import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { errorCodeOf, uploadVideo, type ApiClient } from '@coach/client';
import { sql } from '@coach/db';
import { METRIC_CATALOG, UNRELIABLE_REASONS } from '@coach/jobs/metric-catalog';
import { videoFromImage } from '@coach/media/testing';
import { sweepOnce, type Worker } from '@coach/worker';

import { manualClock } from '../../../test/helpers/clock.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { ALLOWED_ORIGIN, startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';
import { buildWebApp } from './support/build-web-app.ts';
import { chromiumPath, launchChromium } from './support/chromium.ts';
import { serveStatic } from './support/static-server.ts';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../../test-results/web');
const MIB = 1024 * 1024;
/** Coach A's storage quota here: the page shows the used bytes against it. */
const QUOTA_BYTES = 1_000_000_000;
/** Where the page is opened: the origin the test server's CORS allow-list names, resolved to the static server. */
const APP_URL = `${ALLOWED_ORIGIN}/`;

/** Retries `probe` until the assertion holds (the page updates as events arrive). */
const eventually = <T>(probe: () => Promise<T> | T, timeout = 15_000) => expect.poll(probe, { timeout, interval: 100 });

let server: TestServer;
let worker: Worker;
let client: ApiClient;
let site: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
let dir: string;
let personClip: string;
let token: string;
/** The API's clock: moved only by the test of a live stream outliving its token. */
const clock = manualClock();

beforeAll(async () => {
  chromiumPath(); // before anything slow: without Chromium every test here fails, saying how to install it
  dir = await mkdtemp(path.join(os.tmpdir(), 'web-e2e-'));
  await mkdir(SCREENSHOTS, { recursive: true });
  // Parts of 5 MiB above 8 MiB: the person clip goes in one PUT, the 11 MiB file in three parts.
  server = await startTestServer({
    config: {
      maxUploadBytes: 50 * MIB,
      multipartThresholdBytes: 8 * MIB,
      multipartPartSizeBytes: 5 * MIB,
      storageQuotaBytes: QUOTA_BYTES,
    },
    clock,
  });
  client = server.clientFor(coachA);
  token = await server.tokenFor(coachA);
  worker = await startTestWorker(server, { env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' } });

  const [build, clip] = await Promise.all([
    buildWebApp({ apiUrl: server.trpcUrl, outDir: path.join(dir, 'dist') }),
    videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'nets-session.mp4'), seconds: 2, fps: 25 }),
  ]);
  // A Node built-in in the browser bundle would be stubbed out and fail at run time.
  if (/externalized for browser compatibility|node:/.test(build.output))
    throw new Error(`the web bundle pulls in Node modules:\n${build.output}`);
  personClip = clip;
  site = await serveStatic(path.join(dir, 'dist'));
  browser = await launchChromium({ [new URL(ALLOWED_ORIGIN).hostname]: `127.0.0.1:${site.port}` });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await worker?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let context: BrowserContext | undefined;
let pageErrors: string[] = [];

afterEach(async () => {
  await context?.close();
  context = undefined;
});

async function openApp(viewport = { width: 1280, height: 900 }): Promise<Page> {
  context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(APP_URL);
  return page;
}

/** Signs in with a pasted token (the path for any deployment). */
async function signIn(page: Page, withToken = token): Promise<void> {
  await page.getByLabel('Bearer token').fill(withToken);
  await page.getByRole('button', { name: 'Use this token' }).click();
  await eventually(() => page.getByText(`Signed in as ${coachA.userId}`).isVisible()).toBe(true);
}

/** Signs in and creates a fresh session, which becomes the selected one. */
async function signInWithNewSession(page: Page, title: string, withToken = token): Promise<void> {
  await signIn(page, withToken);
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create session' }).click();
  await eventually(() => page.getByLabel('Upload to session').locator('option:checked').textContent()).toContain(title);
}

/** The job ids the page created, read from its own upload.initiate calls. */
function recordInitiatedJobs(page: Page): string[] {
  const jobIds: string[] = [];
  page.on('response', (response) => {
    if (!response.url().includes('upload.initiate')) return;
    void response
      .json()
      .then((body: { result?: { data?: { jobId?: string } } }[]) => {
        for (const item of body) if (item.result?.data?.jobId) jobIds.push(item.result.data.jobId);
      })
      .catch(() => undefined);
  });
  return jobIds;
}

/** Every job status the page shows, in order, as it shows them (set up before the job view appears). */
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

/** Every percentage the upload bar shows from now on. */
async function recordUploadPercents(page: Page): Promise<() => Promise<number[]>> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { seenPercents: number[] }).seenPercents = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="upload-percent"]')?.textContent;
      if (text) seen.push(Number.parseInt(text, 10));
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { seenPercents: number[] }).seenPercents);
}

const percentShown = (page: Page) => page.getByTestId('upload-percent').textContent();
const uploadBar = (page: Page) => page.locator('.upload-progress progress');

/**
 * Makes storage never answer this page's PUTs. Resolves once the route is in
 * place, with a promise of the first PUT being sent.
 */
async function stallPuts(page: Page): Promise<{ started: Promise<void> }> {
  let putStarted!: () => void;
  const started = new Promise<void>((resolve) => (putStarted = resolve));
  await page.route(
    (url) => url.port === new URL(server.endpoint).port,
    async (route: Route) => {
      if (route.request().method() === 'PUT') putStarted();
      else await route.continue();
    },
  );
  return { started };
}

describe('the web app in headless Chromium, against a real API, emulator and worker', () => {
  it('uploads a video with progress to 100%, follows the job live to completed, and shows the summary, charts and frames', async () => {
    const page = await openApp();
    await signInWithNewSession(page, 'Nets, Tuesday');
    const statuses = await recordJobStatuses(page);
    const jobIds = recordInitiatedJobs(page);

    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByLabel('Frames analysed per second').selectOption('5');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();

    await eventually(() => percentShown(page), 20_000).toBe('100%');
    const bar = uploadBar(page);
    expect(await bar.getAttribute('value')).toBe(await bar.getAttribute('max'));
    await eventually(() => page.getByRole('status').filter({ hasText: 'is uploaded and queued' }).count()).toBe(1);

    await page.locator('[data-job-status="completed"]').waitFor({ timeout: 90_000 });
    // Live updates, in order: whatever the page caught of queued → processing, then completed.
    const seen = await statuses();
    expect(seen.at(-1)).toBe('completed');
    const order = ['connecting', 'queued', 'processing', 'completed'];
    const ranks = seen.map((s) => order.indexOf(s));
    expect(ranks).toEqual(ranks.toSorted((a, b) => a - b));
    expect(seen.every((s) => order.includes(s))).toBe(true);

    // The summary a coach reads first.
    const clearFrames = page.locator('.summary-item', { hasText: 'Clear frames' }).locator('.value');
    await clearFrames.waitFor();
    const [clear, total] = ((await clearFrames.textContent()) ?? '').split(' of ').map(Number);
    expect(total).toBeGreaterThanOrEqual(9);
    expect(clear).toBeGreaterThan(0);
    // Front and back knee when the stance could be read, else left and right.
    const knee = page.locator('.summary-item', { hasText: /^(Front|Left) knee \(degrees\)/ }).locator('.value');
    expect(await knee.textContent()).toMatch(/^\d+°$/);
    // Each number is explained: a tooltip, and a description pointing at its glossary entry.
    const kneeItem = page.locator('.summary-item', { hasText: /^(Front|Left) knee/ });
    const kneeMetric = (await kneeItem.getAttribute('data-metric')) as keyof typeof METRIC_CATALOG;
    expect(await kneeItem.getAttribute('title')).toContain(METRIC_CATALOG[kneeMetric].good);
    const describedBy = await kneeItem.locator('dd').getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toContain(METRIC_CATALOG[kneeMetric].meaning);

    // The batting moments the worker found, and why the result is unreliable when it is, as the API gives them.
    const { result } = await client.jobs.get.query({ jobId: jobIds[0] ?? '' });
    if (result?.schemaVersion !== 2) throw new Error(`expected a version 2 result, got ${JSON.stringify(result)}`);
    const found = Object.values(result.moments).filter((moment) => moment !== null);
    const shown = page.locator('.moment');
    expect(await shown.count()).toBe(found.length);
    for (const [i, moment] of found.entries())
      expect(await shown.nth(i).locator('dt').textContent()).toContain(`at ${moment.timestampSeconds.toFixed(2)} s`);
    const reasons = page.getByTestId('unreliable-reasons');
    if (result.reliable) expect(await reasons.count()).toBe(0);
    for (const code of result.unreliableReasons) expect(await reasons.textContent()).toContain(UNRELIABLE_REASONS[code]);

    // The glossary: every catalogued metric with its unit, meaning and what good looks like.
    await page.getByText('What these numbers mean').click();
    const entries = page.locator('.glossary-entry');
    expect(await entries.count()).toBe(Object.keys(METRIC_CATALOG).length);
    for (const [name, metric] of Object.entries(METRIC_CATALOG)) {
      const entry = page.locator(`.glossary-entry[data-metric="${name}"]`);
      expect(await entry.locator('dt').textContent()).toBe(`${metric.label} (${metric.unit})`);
      expect(await entry.isVisible()).toBe(true);
      const text = await entry.locator('dd').textContent();
      expect(text).toContain(metric.meaning);
      expect(text).toContain(metric.good);
    }

    // Charts over time: one figure per family, the knee angles drawn as real lines.
    const kneeChart = page.getByRole('figure', { name: 'Knee angles (°) over time' });
    await kneeChart.locator('.recharts-line-curve').first().waitFor();
    expect(await page.getByRole('figure').count()).toBe(4);
    const curve = await kneeChart.locator('.recharts-line-curve').first().getAttribute('d');
    expect(curve?.length).toBeGreaterThan(20);

    // Frames with the skeleton drawn from metrics.json's keypoints.
    const frame = page.getByRole('img', { name: /^Frame 1 of \d+ at 0\.0 s, with the detected pose/ });
    await frame.waitFor();
    expect(await frame.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(640);
    await eventually(() => page.locator('canvas.skeleton').getAttribute('data-keypoints')).toMatch(/^\d+$/);
    expect(Number(await page.locator('canvas.skeleton').getAttribute('data-keypoints'))).toBeGreaterThanOrEqual(10);
    // Keyboard: the frame slider moves with the arrow keys and End.
    const slider = page.getByRole('slider', { name: /^Frame / });
    await slider.focus();
    await page.keyboard.press('End');
    await eventually(() => page.getByText(`Frame ${total} of ${total}`).count()).toBe(1);
    await page.keyboard.press('ArrowLeft');
    await eventually(() => page.getByText(`Frame ${(total ?? 0) - 1} of ${total}`).count()).toBe(1);

    await page.screenshot({ path: path.join(SCREENSHOTS, 'completed-desktop.png'), fullPage: true });

    // Readable on a phone: nothing wider than the screen, controls still reachable.
    await page.setViewportSize({ width: 375, height: 812 });
    await eventually(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(
      await page
        .getByRole('figure')
        .first()
        .evaluate((el) => el.getBoundingClientRect().width),
    ).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'completed-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('refuses a file that is not a video before sending anything, saying what to choose', async () => {
    const page = await openApp();
    await signInWithNewSession(page, 'Match notes');
    const puts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PUT' || request.url().includes('upload.initiate')) puts.push(request.url());
    });
    const notes = path.join(dir, 'batting-notes.txt');
    await writeFile(notes, 'front foot further across, head still');

    await page.getByLabel('Video file').setInputFiles(notes);

    const alert = page.getByRole('alert').filter({ hasText: 'batting-notes.txt' });
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      '“batting-notes.txt” is not a video we can analyse. Choose an MP4, MOV, WebM or 3GP file.',
    );
    expect(await page.getByLabel('Video file').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('button', { name: 'Upload', exact: true }).isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'not-a-video-refused.png'), fullPage: true });
    expect(puts).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('resumes a multipart upload after a reload, sends only the missing parts, and shows why the analysis failed', async () => {
    // Random bytes named .mp4: the page cannot tell, the worker can.
    const fake = path.join(dir, 'long-rally.mp4');
    await writeFile(fake, randomBytes(11 * MIB));
    const page = await openApp();
    await signInWithNewSession(page, 'Long rally');
    const jobIds = recordInitiatedJobs(page);
    const partPuts: string[] = [];
    page.on('request', (request: Request) => {
      const part = new URL(request.url()).searchParams.get('partNumber');
      if (request.method() === 'PUT' && part) partPuts.push(part);
    });
    // Part 1 reaches storage; parts 2 and 3 hang, as on a connection that dropped.
    await page.route(
      (url) => url.searchParams.has('partNumber'),
      async (route: Route) => {
        if (new URL(route.request().url()).searchParams.get('partNumber') === '1') await route.continue();
      },
    );
    const firstPartRecorded = page.waitForResponse((r) => r.url().includes('upload.recordParts') && r.ok());

    await page.getByLabel('Video file').setInputFiles(fake);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await firstPartRecorded;
    await eventually(() => percentShown(page)).toBe('45%');

    await page.reload();
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    const notice = page.getByRole('note');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('An upload of long-rally.mp4 (11.5 MB) did not finish');
    // The deadline initiate answered, kept with the record: how long the upload can wait.
    expect(await notice.textContent()).toMatch(/Choose the same file to resume it where it stopped before .+\./);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'resume-offered.png'), fullPage: true });

    // A slow uplink (about 2 MB/s) for the rest, so the bar is seen moving with a speed and a time left.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 2 * MIB,
    });
    const percentsSeen = await recordUploadPercents(page);
    await page.getByLabel('Video file').setInputFiles(fake);
    await page.getByRole('button', { name: 'Resume upload' }).click();
    const midway = async () => {
      const percent = Number.parseInt((await percentShown(page)) ?? '', 10);
      return percent > 45 && percent < 100 ? page.locator('.upload-progress .figures').textContent() : null;
    };
    await eventually(midway).toMatch(/^\d+% · [\d.]+ MB of 11\.5 MB · [\d.]+ [KM]B\/s · about \d+ s left$/);
    expect(await page.getByTestId('upload-deadline').textContent()).toMatch(
      /^If it stops, choose the same file again before .+ to continue\.$/,
    );
    await eventually(() => percentShown(page), 20_000).toBe('100%');
    // Bytes are counted as they leave, not only when a whole 5 MiB part lands: many steps on the way.
    const seen = await percentsSeen();
    const steps = seen.filter((p) => p > 45 && p < 100);
    expect(new Set(steps).size).toBeGreaterThanOrEqual(4);
    // From the parts the server recorded on: the bar never started again from 0 %.
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(45);
    // Part 1 went once, before the reload; the resume sent only 2 and 3 (each held attempt counted once too).
    expect(partPuts.filter((p) => p === '1')).toEqual(['1']);
    expect(new Set(partPuts)).toEqual(new Set(['1', '2', '3']));
    expect(jobIds).toHaveLength(1);
    expect(await page.getByRole('note').count()).toBe(0);

    await page.locator('[data-job-status="failed"]').waitFor({ timeout: 30_000 });
    const failure = page.getByRole('alert').filter({ hasText: 'not a video' });
    expect(await failure.textContent()).toBe(
      'This file is not a video we can read. Upload an MP4, MOV, WebM or 3GP video.Code: NOT_A_VIDEO',
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failed-not-a-video.png'), fullPage: true });
    const job = await client.jobs.get.query({ jobId: jobIds[0] ?? '' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'NOT_A_VIDEO', sizeBytes: 11 * MIB });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('offers to continue a single PUT cut off by a reload, and sends it again to the same job', async () => {
    const page = await openApp();
    await signInWithNewSession(page, 'Reload mid-PUT');
    const jobIds = recordInitiatedJobs(page);
    // Storage never answers the PUT: the reload comes while it is under way.
    const { started } = await stallPuts(page);
    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await started;

    await page.reload();
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    const notice = page.getByRole('note');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(
      /^An upload of nets-session\.mp4 \([\d.]+ [KM]B\) did not finish\. Choose the same file to continue it before .+\./,
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'continue-single-offered.png'), fullPage: true });

    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByRole('button', { name: 'Resume upload' }).click();
    await eventually(() => page.getByRole('status').filter({ hasText: 'nets-session.mp4 is uploaded and queued' }).count()).toBe(
      1,
    );
    // The repeated initiate answered the job the first one created: one job, now past its upload.
    expect(jobIds).toHaveLength(2);
    expect(new Set(jobIds).size).toBe(1);
    const job = await client.jobs.get.query({ jobId: jobIds[0] ?? '' });
    expect(['queued', 'processing', 'completed']).toContain(job.status);
    expect(await page.getByRole('note').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('keeps a multipart upload interrupted by signing out, and discards it on the server only when another file is uploaded instead', async () => {
    const interrupted = path.join(dir, 'net-session-long.mp4');
    await writeFile(interrupted, randomBytes(11 * MIB));
    const other = path.join(dir, 'quick-drill.mp4');
    await writeFile(other, randomBytes(MIB));
    const page = await openApp();
    await signInWithNewSession(page, 'Signed out mid-upload');
    const jobIds = recordInitiatedJobs(page);
    // Part 1 reaches storage; the others hang until the page stops them.
    await page.route(
      (url) => url.searchParams.has('partNumber'),
      async (route: Route) => {
        if (new URL(route.request().url()).searchParams.get('partNumber') === '1') await route.continue();
      },
    );
    const firstPartRecorded = page.waitForResponse((r) => r.url().includes('upload.recordParts') && r.ok());
    await page.getByLabel('Video file').setInputFiles(interrupted);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await firstPartRecorded;

    // Signing out (as a refused token does) unmounts the upload mid-transfer: a pause, not a cancel.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await signIn(page);
    const notice = page.getByRole('note');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('An upload of net-session-long.mp4 (11.5 MB) did not finish');
    const [interruptedJob] = jobIds;
    await expect(client.jobs.get.query({ jobId: interruptedJob ?? '' })).resolves.toMatchObject({ status: 'awaiting_upload' });
    await expect(client.upload.listParts.query({ jobId: interruptedJob ?? '' })).resolves.toMatchObject({
      missingPartNumbers: [2, 3],
    });

    // Another file: the page says what uploading it does to the unfinished one before anything happens.
    await eventually(() => page.getByLabel('Upload to session').locator('option:checked').textContent()).toContain(
      'Signed out mid-upload',
    );
    await page.getByLabel('Video file').setInputFiles(other);
    expect(await notice.textContent()).toContain('Uploading quick-drill.mp4 instead discards it.');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'replace-pending-upload.png'), fullPage: true });
    await page.getByRole('button', { name: 'Discard it and upload' }).click();

    await eventually(() => page.getByRole('status').filter({ hasText: 'quick-drill.mp4 is uploaded and queued' }).count()).toBe(
      1,
    );
    expect(jobIds).toHaveLength(2);
    await eventually(async () => (await client.jobs.get.query({ jobId: interruptedJob ?? '' })).status).toBe('aborted');
    expect(await page.getByRole('note').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('cancels an upload in flight: the server discards it', async () => {
    const page = await openApp();
    await signInWithNewSession(page, 'Cancelled');
    const jobIds = recordInitiatedJobs(page);
    // Storage never answers, so the upload is still in flight when Cancel is pressed.
    const { started } = await stallPuts(page);

    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await started;
    await page.getByRole('button', { name: 'Cancel upload' }).click();

    await eventually(() => page.getByRole('status').filter({ hasText: 'Upload of nets-session.mp4 cancelled.' }).count()).toBe(1);
    await eventually(async () => (await client.jobs.get.query({ jobId: jobIds[0] ?? '' })).status).toBe('aborted');
    expect(await page.getByRole('button', { name: 'Upload', exact: true }).isEnabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('follows a live job until the token expires: the stream ends, the reconnect resumes after the last event, and the refusal signs the user out', async () => {
    // No worker, so the job waits in the queue while its stream is open.
    await worker.stop();
    const hourToken = await server.tokenFor(coachA, { expiresIn: '1h' });
    const pastExpiry = 3600_000 + 2_000;
    let moved = false;
    try {
      const page = await openApp();
      await signInWithNewSession(page, 'Token runs out', hourToken);
      const watches: URL[] = [];
      page.on('request', (request: Request) => {
        if (request.url().includes('/jobs.watch')) watches.push(new URL(request.url()));
      });
      await page.getByLabel('Video file').setInputFiles(personClip);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.locator('[data-job-status="queued"]').waitFor({ timeout: 20_000 });
      expect(watches).toHaveLength(1);

      // The token's hour passes on the API's clock: it ends the stream, and the page's
      // EventSource reconnects (through CORS), resuming after the last event it saw.
      clock.advance(pastExpiry);
      moved = true;
      await eventually(() => watches.length).toBe(2);
      expect(watches[1]?.searchParams.get('lastEventId')).toMatch(/^queued:0:/);
      // The same token is now refused: the page asks to sign in again, as for any refused call.
      await eventually(() =>
        page.getByText('Your sign-in has expired or is not accepted by this API. Sign in again.').count(),
      ).toBe(1);
      expect(await page.getByLabel('Bearer token').isVisible()).toBe(true);
      expect(pageErrors).toEqual([]);
    } finally {
      if (moved) clock.advance(-pastExpiry);
      worker = await startTestWorker(server, { env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' } });
    }
  }, 60_000);
});

/** A job of coach A's `sessionId`, uploaded and analysed through the API (5 frames a second, frames kept). */
async function analysedJob(sessionId: string, clipPath: string): Promise<string> {
  const { jobId } = await uploadVideo({ client, file: clipPath, sessionId, sampleFps: 5, includeFrames: true });
  const status = await waitFor(
    async () => {
      const job = await client.jobs.get.query({ jobId });
      return ['queued', 'processing'].includes(job.status) ? undefined : job.status;
    },
    { timeoutMs: 90_000, intervalMs: 200, what: `job ${jobId} to finish` },
  );
  if (status !== 'completed') throw new Error(`the analysis of ${clipPath} ended ${status}`);
  return jobId;
}

/** Opens `hash` in a fresh page load of a signed-in context (as a reload or a shared link does). */
async function openFresh(hash: string, prepare?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await openApp();
  await signIn(page);
  const fresh = await page.context().newPage();
  fresh.on('pageerror', (error) => pageErrors.push(error.message));
  await prepare?.(fresh);
  await fresh.goto(`${APP_URL}${hash}`);
  return fresh;
}

/** S3's answer to a presigned link used after it expired. */
const EXPIRED_LINK = {
  status: 403,
  contentType: 'application/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
};

/** The playing video's time and the sample whose pose the overlay shows, read together. */
const playerState = (page: Page, n = 0) =>
  page
    .locator('.player')
    .nth(n)
    .evaluate((player) => {
      const video = player.querySelector('video');
      const overlay = player.querySelector('canvas.pose-overlay');
      return {
        currentTime: video?.currentTime ?? -1,
        paused: video?.paused ?? true,
        playbackRate: video?.playbackRate ?? 0,
        keypoints: Number(overlay?.getAttribute('data-keypoints') ?? 0),
        poseTime: overlay?.getAttribute('data-pose-time') ? Number(overlay.getAttribute('data-pose-time')) : null,
      };
    });

describe('the library, results pages and playback with the pose', () => {
  let sessionId: string;
  let firstJob: string;
  let secondJob: string;

  beforeAll(async () => {
    // Two takes of one session, analysed through the API; a longer second clip, so the files differ.
    const session = await client.sessions.create.mutate({ title: 'Playback nets', playerIds: ['asha', 'ben'] });
    sessionId = session.sessionId;
    const longer = await videoFromImage({
      imagePath: testPhotoPath(),
      path: path.join(dir, 'second-take.mp4'),
      seconds: 3,
      fps: 25,
    });
    [firstJob, secondJob] = await Promise.all([analysedJob(sessionId, personClip), analysedJob(sessionId, longer)]);
  }, 180_000);

  it('uploads once however often Upload is pressed, asks before sending a file the session has, and lists the videos after a reload', async () => {
    const page = await openApp();
    await signIn(page);
    await page.getByLabel('Title').fill('Library, Thursday');
    await page.getByLabel('Player ids (comma-separated, optional)').fill('p1, p2');
    await page.getByRole('button', { name: 'Create session' }).click();
    await eventually(() => page.getByLabel('Upload to session').locator('option:checked').textContent()).toContain(
      'Library, Thursday',
    );
    const jobIds = recordInitiatedJobs(page);
    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByLabel('Frames analysed per second').selectOption('5');
    const upload = page.getByRole('button', { name: 'Upload', exact: true });
    await upload.dblclick();

    // The results page of the new video, at its own address.
    await eventually(() => page.url(), 30_000).toMatch(/#\/sessions\/[0-9a-f-]{36}\/jobs\/[0-9a-f-]{36}$/);
    const [, session, jobId] = /#\/sessions\/([0-9a-f-]+)\/jobs\/([0-9a-f-]+)$/.exec(page.url()) ?? [];
    await page.locator('[data-job-status="completed"]').waitFor({ timeout: 90_000 });

    // The same choice pressed again answers the same job, sending nothing and asking nothing.
    await upload.click();
    expect(await page.getByRole('alertdialog').count()).toBe(0);
    expect(page.url()).toMatch(new RegExp(`/jobs/${jobId}$`));
    await eventually(() => page.getByRole('status').filter({ hasText: 'nets-session.mp4 is uploaded and queued' }).count()).toBe(
      1,
    );

    // After a reload, the same file chosen again: the page asks before uploading it a second time.
    await page.reload();
    await page.getByLabel('Video file').setInputFiles(personClip);
    await page.getByLabel('Frames analysed per second').selectOption('5');
    await eventually(() => page.getByRole('list', { name: 'Session videos' }).getByRole('listitem').count()).toBe(1);
    await upload.click();
    const ask = page.getByRole('alertdialog');
    await ask.waitFor();
    expect(await ask.textContent()).toContain('is already in this session');
    await page.getByRole('button', { name: 'Don’t upload' }).click();
    expect(await ask.count()).toBe(0);
    expect(new Set(jobIds)).toEqual(new Set([jobId]));
    const listed = await client.jobs.list.query({ sessionId: session ?? '' });
    expect(listed.items.map((j) => j.jobId)).toEqual([jobId]);

    // The library lists it, with the first frame, status, date and players.
    const items = page.getByRole('list', { name: 'Session videos' }).getByRole('listitem');
    await eventually(() => items.count()).toBe(1);
    const item = items.first();
    await eventually(() => item.locator('[data-library-status]').getAttribute('data-library-status')).toBe('completed');
    expect(await item.textContent()).toContain('Players: p1, p2');
    expect(await item.getAttribute('aria-current')).toBe('page');
    const thumbnail = item.locator('img.thumbnail');
    await eventually(() => thumbnail.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(640);
    const when = await item.locator('time').getAttribute('datetime');
    expect(when).toBe(listed.items[0]?.createdAt);
    // The results page itself survived the reload.
    await page.locator('[data-job-status="completed"]').waitFor();
    await page.locator('.summary-item', { hasText: 'Clear frames' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'library.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('opens a results page fresh from its URL and plays the video with the pose in sync, re-signing an expired link; a chart point seeks it; slow motion and frame steps', async () => {
    const videoLinks: string[] = [];
    let refusedVideo = 0;
    const page = await openFresh(`#/sessions/${sessionId}/jobs/${firstJob}`, async (fresh) => {
      fresh.on('request', (request) => {
        if (request.url().includes('jobs.videoUrl')) videoLinks.push(request.url());
      });
      // The first video request meets a link that expired: the page signs a fresh one and plays on.
      await fresh.route(
        (url) => url.pathname.endsWith('/original.mp4'),
        async (route) => (refusedVideo++ === 0 ? route.fulfill(EXPIRED_LINK) : route.continue()),
      );
    });
    await page.locator('[data-job-status="completed"]').waitFor({ timeout: 30_000 });
    await page.locator('.summary-item', { hasText: 'Clear frames' }).waitFor();
    const play = page.getByRole('button', { name: 'Play', exact: true });
    await eventually(() => play.isEnabled()).toBe(true);
    expect(videoLinks.length).toBe(2);
    expect(refusedVideo).toBeGreaterThanOrEqual(2);

    // Plays, with the pose drawn over each frame for the sample nearest its time.
    await play.click();
    await eventually(async () => (await playerState(page)).currentTime).toBeGreaterThan(0.3);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await eventually(async () => {
      const state = await playerState(page);
      return state.paused && state.poseTime !== null && Math.abs(state.poseTime - state.currentTime) <= 0.1 + 1e-6;
    }).toBe(true);
    expect((await playerState(page)).keypoints).toBeGreaterThanOrEqual(10);

    // Frame steps land on the analysed samples, the overlay showing exactly that sample.
    await page.evaluate(() => {
      const video = document.querySelector('.player video');
      if (video instanceof HTMLVideoElement) video.currentTime = 0;
    });
    await page.getByRole('button', { name: 'Next frame' }).click();
    await eventually(async () => (await playerState(page)).poseTime).toBeCloseTo(0.2, 3);
    expect((await playerState(page)).currentTime).toBeCloseTo(0.2, 3);
    await page.getByRole('button', { name: 'Next frame' }).click();
    await eventually(async () => (await playerState(page)).poseTime).toBeCloseTo(0.4, 3);
    await page.getByRole('button', { name: 'Previous frame' }).click();
    await eventually(async () => (await playerState(page)).poseTime).toBeCloseTo(0.2, 3);
    expect(await page.getByTestId('player-time').textContent()).toMatch(/^0\.20 s of 2\.\d\d s · pose of sample 2 of 10$/);

    // A click on a chart point seeks the video to that sample's time, paused there.
    const chart = page.getByRole('figure', { name: 'Knee angles (°) over time' }).getByRole('application');
    await chart.scrollIntoViewIfNeeded();
    const box = await chart.boundingBox();
    if (!box) throw new Error('the knee chart has no size');
    // As a person does: the pointer over a point shows its tooltip, and the click takes that point.
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.4);
    await chart.locator('..').locator('.recharts-tooltip-wrapper').filter({ hasText: ' s' }).waitFor();
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height * 0.4);
    await eventually(async () => {
      const state = await playerState(page);
      return (
        state.paused && state.poseTime !== null && state.poseTime > 0.8 && Math.abs(state.currentTime - state.poseTime) < 1e-3
      );
    }).toBe(true);

    // Slow motion: at 0.25× the video's clock runs at most about a quarter as fast as the page's
    // (a busy machine only makes it slower), and it still moves.
    await page.getByLabel('Speed').selectOption('0.25');
    expect((await playerState(page)).playbackRate).toBe(0.25);
    const rate = await page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const video = document.querySelector('.player video');
          if (!(video instanceof HTMLVideoElement)) return reject(new Error('no video'));
          video.currentTime = 0;
          video.addEventListener(
            'seeked',
            () => {
              const started = { wall: performance.now(), media: video.currentTime };
              const onFrame = (_now: number, frame: VideoFrameCallbackMetadata) => {
                const media = frame.mediaTime - started.media;
                if (media < 0.25) return void video.requestVideoFrameCallback(onFrame);
                video.pause();
                resolve(media / ((performance.now() - started.wall) / 1000));
              };
              video.requestVideoFrameCallback(onFrame);
              void video.play();
            },
            { once: true },
          );
        }),
    );
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(0.3);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'playback-with-pose.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('shows a frame’s pose only once that frame has loaded, and signs a frame or metrics link again when storage says it expired', async () => {
    let releaseThird!: () => void;
    const thirdHeld = new Promise<void>((resolve) => (releaseThird = resolve));
    let refusedSecond = 0;
    let refusedMetrics = 0;
    const jobGets: string[] = [];
    const page = await openFresh(`#/sessions/${sessionId}/jobs/${firstJob}`, async (fresh) => {
      fresh.on('request', (request) => {
        if (request.url().includes('jobs.get')) jobGets.push(request.url());
      });
      await fresh.route(
        (url) => url.pathname.endsWith('/analysis/metrics.json'),
        async (route) => (refusedMetrics++ === 0 ? route.fulfill(EXPIRED_LINK) : route.continue()),
      );
      await fresh.route(
        (url) => url.pathname.endsWith('/frames/000001.jpg'),
        async (route) => (refusedSecond++ === 0 ? route.fulfill(EXPIRED_LINK) : route.continue()),
      );
      await fresh.route(
        (url) => url.pathname.endsWith('/frames/000002.jpg'),
        async (route) => {
          await thirdHeld;
          await route.continue();
        },
      );
    });
    const frameImage = (n: number) => page.getByRole('img', { name: new RegExp(`^Frame ${n} of 10 at`) });
    const skeleton = page.locator('.frame canvas.skeleton');
    await frameImage(1).waitFor({ timeout: 30_000 });
    // The metrics file (the poses) came through a link signed again after the first was refused.
    await eventually(() => skeleton.count()).toBe(1);
    expect(refusedMetrics).toBe(2);
    expect(jobGets.length).toBe(2);
    const getsBefore = jobGets.length;

    // Frame 2's link has expired: refused once, signed again through jobs.get, then shown with its pose.
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await eventually(() => frameImage(2).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(640);
    await eventually(() => frameImage(2).getAttribute('data-loaded')).toBe('true');
    expect(refusedSecond).toBe(2);
    expect(jobGets.length).toBe(getsBefore + 1);
    await eventually(() => skeleton.count()).toBe(1);

    // Frame 3 is slow: until it arrives no pose is drawn (frame 2's image is still on screen).
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.locator('.frame .frame-loading').waitFor();
    expect(await skeleton.count()).toBe(0);
    expect(await frameImage(3).getAttribute('data-loaded')).toBe('false');
    releaseThird();
    await eventually(() => frameImage(3).getAttribute('data-loaded')).toBe('true');
    await eventually(() => skeleton.count()).toBe(1);
    expect(await page.locator('.frame .frame-loading').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('compares two clips of the session side by side, each playing with its pose', async () => {
    const page = await openFresh(`#/sessions/${sessionId}`);
    const items = page.getByRole('list', { name: 'Session videos' }).getByRole('listitem');
    await eventually(() => items.count()).toBe(2);
    expect(await items.first().textContent()).toContain('Players: asha, ben');
    await page.getByLabel('Compare video 1').check();
    await page.getByLabel('Compare video 2').check();
    await page.getByRole('button', { name: 'Compare the two chosen videos' }).click();
    await eventually(() => page.url()).toMatch(new RegExp(`#/sessions/${sessionId}/compare/[0-9a-f-]{36}/[0-9a-f-]{36}$`));
    expect(new Set(page.url().split('/').slice(-2))).toEqual(new Set([firstJob, secondJob]));

    const players = page.locator('.compare .player');
    await eventually(() => players.count()).toBe(2);
    await eventually(() => page.getByRole('button', { name: 'Play', exact: true }).and(page.locator(':enabled')).count()).toBe(2);
    await page.getByRole('button', { name: 'Play both from the start' }).click();
    await eventually(async () => {
      const [a, b] = [await playerState(page, 0), await playerState(page, 1)];
      return a.currentTime > 0.3 && b.currentTime > 0.3 && a.keypoints >= 10 && b.keypoints >= 10;
    }).toBe(true);
    await page.getByRole('button', { name: 'Pause both' }).click();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'compare.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

describe('deleting a video and a session', () => {
  /** The stored bytes the page's storage line shows, once it shows them. */
  const usedBytesShown = async (page: Page) => Number(await page.getByTestId('storage-usage').getAttribute('data-used-bytes'));
  const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent ?? null);

  it('shows the storage used against the quota, deletes a video and then its session after confirming, and the usage goes down', async () => {
    const session = await client.sessions.create.mutate({ title: 'Nets to delete', playerIds: [] });
    const { sessionId } = session;
    const [kept, doomed, third] = await Promise.all([
      analysedJob(sessionId, personClip),
      analysedJob(sessionId, personClip),
      analysedJob(sessionId, personClip),
    ]);
    const before = await client.usage.get.query();
    expect(before.quotaBytes).toBe(QUOTA_BYTES);

    const page = await openFresh(`#/sessions/${sessionId}/jobs/${doomed}`);
    const storage = page.getByTestId('storage-usage');
    await eventually(() => usedBytesShown(page)).toBe(before.usedBytes);
    expect(await storage.textContent()).toMatch(/^Storage: [\d.]+ (B|KB|MB) of 1\.0 GB used$/);
    await page.locator('[data-job-status="completed"]').waitFor({ timeout: 30_000 });
    const items = page.getByRole('list', { name: 'Session videos' }).getByRole('listitem');
    await eventually(() => items.count()).toBe(3);
    // Chosen to compare before it goes: the choice must not outlive the video.
    const compareBox = (jobId: string) => page.locator(`li:has(a[href$="/jobs/${jobId}"]) input[type="checkbox"]`);
    await compareBox(kept).check();
    await compareBox(doomed).check();
    const compareButton = page.getByRole('button', { name: 'Compare the two chosen videos' });
    expect(await compareButton.isEnabled()).toBe(true);

    // Asking first: focus on Cancel; Escape closes the question and gives focus back to the button.
    const deleteVideo = page.getByRole('button', { name: 'Delete video' });
    await deleteVideo.click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete this video?' });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('This removes the video, its frames and metrics for good.');
    await eventually(() => focusedText(page)).toBe('Cancel');
    await page.keyboard.press('Escape');
    await eventually(() => confirm.count()).toBe(0);
    await eventually(() => focusedText(page)).toBe('Delete video');
    expect((await client.jobs.get.query({ jobId: doomed })).status).toBe('completed');

    // Deleted from the keyboard: back to the session's library, which no longer lists it, with a notice.
    await page.keyboard.press('Enter');
    await eventually(() => focusedText(page)).toBe('Cancel');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await eventually(() => page.url()).toMatch(new RegExp(`#/sessions/${sessionId}$`));
    const notice = page.getByTestId('workspace-notice');
    await eventually(() => notice.textContent()).toContain('The video was deleted, with its frames and metrics.');
    await eventually(() => items.count()).toBe(2);
    expect(await page.locator(`a[href$="/jobs/${kept}"]`).count()).toBe(1);
    expect(await page.locator(`a[href$="/jobs/${doomed}"]`).count()).toBe(0);
    expect(await compareBox(kept).isChecked()).toBe(true);
    expect(await compareBox(third).isChecked()).toBe(false);
    expect(await compareButton.isEnabled()).toBe(false);
    await expect(client.jobs.get.query({ jobId: doomed }).catch(errorCodeOf)).resolves.toBe('JOB_NOT_FOUND');
    // Its stored bytes are given back, and the page says so.
    const afterVideo = await client.usage.get.query();
    expect(afterVideo.usedBytes).toBeLessThan(before.usedBytes);
    await eventually(() => usedBytesShown(page)).toBe(afterVideo.usedBytes);

    // The deleted video's address (an old link) leads back to the library, saying why.
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await page.evaluate((hash) => (window.location.hash = hash), `#/sessions/${sessionId}/jobs/${doomed}`);
    await eventually(() => notice.textContent()).toContain('That video has been deleted.');
    await eventually(() => page.url()).toMatch(new RegExp(`#/sessions/${sessionId}$`));
    // So does a comparison that includes it.
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await page.evaluate((hash) => (window.location.hash = hash), `#/sessions/${sessionId}/compare/${kept}/${doomed}`);
    await eventually(() => notice.textContent()).toContain('One of the compared videos has been deleted.');
    await eventually(() => page.url()).toMatch(new RegExp(`#/sessions/${sessionId}$`));

    // The session, with the videos left in it.
    await page.getByRole('button', { name: 'Delete session' }).click();
    const confirmSession = page.getByRole('alertdialog', { name: 'Delete the session “Nets to delete”?' });
    await confirmSession.waitFor();
    expect(await confirmSession.textContent()).toContain('This removes its 2 videos, their frames and metrics for good.');
    await confirmSession.getByRole('button', { name: 'Delete', exact: true }).click();
    await eventually(() => notice.textContent()).toContain('The session “Nets to delete” was deleted with its 2 videos.');
    await eventually(() => page.getByLabel('Upload to session').locator('option', { hasText: 'Nets to delete' }).count()).toBe(0);
    expect(page.url()).not.toContain(sessionId);
    await expect(client.sessions.get.query({ sessionId }).catch(errorCodeOf)).resolves.toBe('SESSION_NOT_FOUND');
    await expect(client.jobs.get.query({ jobId: kept }).catch(errorCodeOf)).resolves.toBe('JOB_NOT_FOUND');
    const afterSession = await client.usage.get.query();
    expect(afterSession.usedBytes).toBeLessThan(afterVideo.usedBytes);
    await eventually(() => usedBytesShown(page)).toBe(afterSession.usedBytes);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'deleted-session.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 240_000);
});

describe('a video whose original the retention policy removed', () => {
  it('keeps its results page: it says when the original goes, then that it went, and the player says why it cannot play', async () => {
    const { sessionId } = await client.sessions.create.mutate({ title: 'Nets kept a day', playerIds: [] });
    const jobId = await analysedJob(sessionId, personClip);
    await client.retention.set.mutate({ deleteOriginalsAfterDays: 1, deleteEverythingAfterDays: null });
    try {
      const page = await openFresh(`#/sessions/${sessionId}/jobs/${jobId}`);
      const line = page.getByTestId('original-retention');
      await eventually(() => line.textContent()).toMatch(
        /^The original video will be removed on .+ under your retention policy; its analysis will be kept\.$/,
      );
      await page.locator('.player video').waitFor();

      // Two days on, for this video only: the sweeper removes its original.
      await sql`update video_analysis_jobs
        set queued_at = queued_at - interval '2 days', created_at = created_at - interval '2 days'
        where id = ${jobId}`.execute(server.db);
      // Nothing else of this file's is due: the other uploads are fresh and none is abandoned.
      const swept = await sweepOnce(
        sweeperOptionsFor(server, { uploadGraceSeconds: 3600, abandonedGraceSeconds: 3600, staleQueuedSeconds: 3600 }),
      );
      expect(swept).toMatchObject({ retentionOriginalsRemoved: 1, retentionJobsDeleted: 0 });

      await page.reload();
      await eventually(() => line.textContent()).toMatch(
        /^The original video was removed on .+ under your retention policy; its analysis is kept\.$/,
      );
      await eventually(() => page.getByTestId('video-removed').textContent()).toContain(
        'This video: the original was removed under your retention policy, so it cannot be played; its analysis is kept.',
      );
      // The analysis stays: the summary and the frames are still there.
      await page.getByRole('heading', { name: 'Summary' }).waitFor();
      expect(await page.locator('.player video').count()).toBe(0);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'original-removed.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await client.retention.reset.mutate();
    }
  }, 180_000);
});
