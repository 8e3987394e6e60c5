import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiClient } from '@coach/client';
import { findJob } from '@coach/db';
import { generateTestVideo } from '@coach/media/testing';
import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';
import { runFfmpeg } from '../../media/src/testing/generate-test-video.ts';

/**
 * Files that cost far more to analyse than their size says, through the real
 * API, emulator, ffmpeg and MoveNet: each must fail for good, once, with its
 * own code, within two minutes.
 */
let server: TestServer;
let worker: Worker;
let client: ApiClient;
let dir: string;

/** Small enough that a short real clip goes over it; the other caps keep their defaults. */
const SOURCE_FRAMES_CAP = 500;
const startWorker = (env: Record<string, string> = {}) =>
  startTestWorker(server, {
    env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600', WORKER_MAX_SOURCE_FRAMES: String(SOURCE_FRAMES_CAP), ...env },
  });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'analysis-caps-'));
  server = await startTestServer({ config: { maxUploadBytes: 50 * 1024 * 1024 } });
  worker = await startWorker();
  client = server.clientFor(coachA);
}, 120_000);

afterAll(async () => {
  await worker.stop();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function upload(file: string, input: { sampleFps: number; contentType: 'video/mp4' | 'video/quicktime' }) {
  const body = await readFile(file);
  const { sessionId } = await client.sessions.create.mutate({ title: path.basename(file), playerIds: [] });
  const started = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength, includeFrames: true, ...input });
  const put = await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body });
  expect(put.status).toBe(200);
  await client.upload.complete.mutate({ jobId: started.jobId });
  return started.jobId;
}

/** Uploads the file and waits up to two minutes for a terminal state. */
async function analyse(file: string, input: { sampleFps: number; contentType: 'video/mp4' | 'video/quicktime' }) {
  const jobId = await upload(file, input);
  const job = await waitFor(
    async () => {
      const row = await findJob(server.db, { jobId });
      return row && ['completed', 'failed'].includes(row.status) ? row : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 200, what: `job ${jobId} to finish` },
  );
  return job;
}

describe('analysis caps: hostile and oversized videos fail at once, for good, with their own code', () => {
  it('a 2-frame MP4 of a few KB that declares a 30-minute duration, sampled at 30 fps: TOO_MANY_FRAMES_TO_ANALYSE', async () => {
    const file = path.join(dir, 'declares-30-minutes.mp4');
    // Two frames, 1791 s apart: ffmpeg's fps filter would pad that with 53,730 copies to analyse.
    await runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=64x64:r=1:d=2',
      '-vf',
      'setpts=N*1791/TB',
      '-vsync',
      'vfr',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-f',
      'mp4',
      file,
    ]);
    expect((await stat(file)).size).toBeLessThan(8 * 1024);
    const job = await analyse(file, { sampleFps: 30, contentType: 'video/mp4' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'TOO_MANY_FRAMES_TO_ANALYSE', attempts: 1 });
    expect(job.errorMessage).toMatch(/needs 53[67]\d\d frames analysed; the limit is 18000/);
  }, 150_000);

  it('one 8000×8000 PNG frame in a MOV: VIDEO_RESOLUTION_TOO_HIGH, refused before it is decoded', async () => {
    const file = path.join(dir, 'huge.mov');
    await runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=blue:s=8000x8000:d=1:r=1',
      '-frames:v',
      '1',
      '-c:v',
      'png',
      '-f',
      'mov',
      file,
    ]);
    const job = await analyse(file, { sampleFps: 5, contentType: 'video/quicktime' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'VIDEO_RESOLUTION_TOO_HIGH', attempts: 1 });
    expect(job.errorMessage).toMatch(/8000×8000/);
  }, 150_000);

  it('a clip recorded at 480 fps: VIDEO_FRAME_RATE_TOO_HIGH', async () => {
    const file = await generateTestVideo({
      path: path.join(dir, 'fast.mp4'),
      seconds: 1,
      width: 64,
      height: 64,
      fps: 480,
      container: 'mp4',
    });
    const job = await analyse(file, { sampleFps: 5, contentType: 'video/mp4' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'VIDEO_FRAME_RATE_TOO_HIGH', attempts: 1 });
  }, 150_000);

  it('more source frames to decode than WORKER_MAX_SOURCE_FRAMES: VIDEO_TOO_MANY_FRAMES', async () => {
    const file = await generateTestVideo({
      path: path.join(dir, 'long.mp4'),
      seconds: 20,
      width: 64,
      height: 64,
      fps: 30,
      container: 'mp4',
    });
    const job = await analyse(file, { sampleFps: 1, contentType: 'video/mp4' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'VIDEO_TOO_MANY_FRAMES', attempts: 1 });
    expect(job.errorMessage).toMatch(/about 600 frames; we analyse videos of up to 500/);
  }, 150_000);

  it('a decoder that needs more than WORKER_CHILD_MEMORY_MB: ANALYSIS_MEMORY_LIMIT', async () => {
    const file = path.join(dir, 'huge-allowed.mov');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=8000x8000:d=1:r=1', '-frames:v', '1', '-c:v', 'png', '-f', 'mov', file]);
    await worker.stop();
    // The pixel cap raised, so only the memory limit stands between this frame and 256 MB.
    worker = await startWorker({ WORKER_MAX_FRAME_PIXELS: '100000000', WORKER_CHILD_MEMORY_MB: '200' });
    const job = await analyse(file, { sampleFps: 1, contentType: 'video/quicktime' });
    expect(job).toMatchObject({ status: 'failed', errorCode: 'ANALYSIS_MEMORY_LIMIT', attempts: 1 });
  }, 150_000);
});
