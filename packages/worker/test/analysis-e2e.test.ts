import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiClient } from '@coach/client';
import { findJob } from '@coach/db';
import { AnalysisResultSchema } from '@coach/jobs';
import { generateTestVideo, videoFromImage } from '@coach/media/testing';
import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

let server: TestServer;
let worker: Worker;
let client: ApiClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'analysis-e2e-'));
  server = await startTestServer({ config: { maxUploadBytes: 50 * 1024 * 1024 } });
  worker = await startWorkerForTests();
  client = server.clientFor(coachA);
}, 120_000);

const startWorkerForTests = () => startTestWorker(server, { env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' } });

afterAll(async () => {
  await worker.stop();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Real API flow: initiate, PUT the file to the presigned URL, complete. */
async function upload(file: string, input: { sampleFps: number; includeFrames: boolean; contentType?: 'video/mp4' }) {
  const body = await readFile(file);
  const { sessionId } = await client.sessions.create.mutate({ title: path.basename(file), playerIds: ['p1'] });
  const started = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength, ...input });
  const put = await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body });
  expect(put.status).toBe(200);
  await client.upload.complete.mutate({ jobId: started.jobId });
  return started;
}

const finished = (jobId: string) =>
  waitFor(
    async () => {
      const job = await findJob(server.db, { jobId });
      return job && ['completed', 'failed'].includes(job.status) ? job : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200, what: `job ${jobId} to finish` },
  );

describe('analysis end to end (real emulator, real ffmpeg, real MoveNet)', () => {
  it('analyses a clip of a real person: metrics on the job, frames and metrics.json stored and downloadable', async () => {
    const video = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'person.mp4'), seconds: 2, fps: 25 });
    const started = await upload(video, { sampleFps: 5, includeFrames: true });

    const job = await finished(started.jobId);
    expect(job).toMatchObject({ status: 'completed', progressPercent: 100, attempts: 1 });
    const result = AnalysisResultSchema.parse(job.result);
    expect(result.frameCount).toBeGreaterThanOrEqual(9);
    expect(result.frameCount).toBeLessThanOrEqual(11);
    expect(result.model.name).toBe('movenet-singlepose-lightning');
    expect(result.video).toMatchObject({ width: 640, codec: 'h264' });
    expect(result.reliableFrameCount).toBeGreaterThan(0);
    // A standing person: knees fairly straight, shoulders roughly level.
    const knee = result.metrics.leftKneeAngle ?? result.metrics.rightKneeAngle;
    expect(knee?.mean).toBeGreaterThan(100);
    expect(Math.abs(result.metrics.shoulderTilt?.mean ?? 90)).toBeLessThan(30);

    const details = await client.jobs.get.query({ jobId: started.jobId });
    expect(details.artifacts?.frames).toHaveLength(result.frameCount);
    const metrics = (await (await fetch(details.artifacts?.metricsUrl ?? '')).json()) as {
      frames: { index: number; keypoints: { name: string; y: number; score: number }[] }[];
    };
    expect(metrics.frames).toHaveLength(result.frameCount);
    // Geometry, not coordinates: the head is above the hips in a confident frame.
    const point = (f: (typeof metrics.frames)[number], name: string) => f.keypoints.find((k) => k.name === name);
    const confident = metrics.frames.find(
      (f) => (point(f, 'nose')?.score ?? 0) > 0.3 && (point(f, 'left_hip')?.score ?? 0) > 0.3,
    );
    expect(confident).toBeDefined();
    const y = (name: string) => (confident ? point(confident, name)?.y : undefined) ?? Number.NaN;
    expect(y('nose')).toBeLessThan(y('left_hip'));
    expect(y('left_shoulder')).toBeLessThan(y('left_hip'));
    // Frame links page through jobs.frames without gaps or repeats.
    const paged: number[] = [];
    for (let offset: number | null = 0; offset !== null;) {
      const page = await client.jobs.frames.query({ jobId: started.jobId, offset, limit: 4 });
      paged.push(...page.frames.map((f) => f.index));
      offset = page.nextOffset;
    }
    expect(paged).toEqual(Array.from({ length: result.frameCount }, (_, i) => i));
    const frame = await fetch(details.artifacts?.frames[0]?.url ?? '');
    expect(frame.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await frame.arrayBuffer()).subarray(0, 2)).toEqual(new Uint8Array([0xff, 0xd8]));
  }, 120_000);

  it('fails a file that is not a video at once, with a reason a coach can read', async () => {
    const fake = path.join(dir, 'notes.mp4');
    await writeFile(fake, 'these are my batting notes, not a video'.repeat(50));
    const started = await upload(fake, { sampleFps: 5, includeFrames: false });
    const job = await finished(started.jobId);
    expect(job).toMatchObject({ status: 'failed', errorCode: 'NOT_A_VIDEO', attempts: 1 });
    expect(job.errorMessage).toMatch(/not a video/i);
  }, 60_000);

  it('refuses to analyse an object replaced after its upload was verified', async () => {
    const video = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'swap.mp4'), seconds: 1, fps: 25 });
    const body = await readFile(video);
    const { sessionId } = await client.sessions.create.mutate({ title: 'swap', playerIds: [] });
    await worker.stop(); // hold analysis until the object has been swapped
    try {
      const started = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength, sampleFps: 5 });
      await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body });
      await client.upload.complete.mutate({ jobId: started.jobId });
      // The emulator does not enforce If-None-Match, so the replacement lands; real S3 would refuse it.
      const replacement = new Uint8Array(body.byteLength).fill(3);
      await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body: replacement });
      worker = await startWorkerForTests();
      const job = await finished(started.jobId);
      expect(job).toMatchObject({ status: 'failed', errorCode: 'VIDEO_CHANGED', attempts: 1 });
    } catch (error) {
      worker = await startWorkerForTests().catch(() => worker);
      throw error;
    }
  }, 60_000);

  it('fails a video with nobody in it as NO_PERSON_FOUND, without retrying', async () => {
    const video = await generateTestVideo({
      path: path.join(dir, 'empty.mp4'),
      seconds: 1,
      width: 320,
      height: 240,
      fps: 15,
      container: 'mp4',
    });
    const started = await upload(video, { sampleFps: 5, includeFrames: false });
    const job = await finished(started.jobId);
    expect(job).toMatchObject({ status: 'failed', errorCode: 'NO_PERSON_FOUND', attempts: 1 });
    const details = await client.jobs.get.query({ jobId: started.jobId });
    expect(details.artifacts).toBeNull();
  }, 60_000);
});
