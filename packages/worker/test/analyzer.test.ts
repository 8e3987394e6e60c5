import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';
import { videoFromImage } from '@coach/media/testing';
import { createPosePool, type PosePool } from '@coach/pose';
import { cleanStaleWorkDirs, createVideoAnalyzer, PermanentAnalysisError, type AnalysisInput } from '@coach/worker';

import { processingJobRow } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

/**
 * The analyzer on the real emulator, ffmpeg and MoveNet. ffmpeg and ffprobe
 * are found through PATH wrappers that log each start, so a test can count
 * processes; this file's worker process resolves them once, here first.
 */
let dir: string;
let server: TestServer;
let pose: PosePool;
let toolLog: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'analyzer-test-'));
  toolLog = path.join(dir, 'tools.log');
  const { ffmpegPath, ffprobePath } = await import('../../media/src/resolve-ffmpeg.ts').then((m) => m.detectFfmpeg(''));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  for (const [name, real] of [
    ['ffmpeg', ffmpegPath],
    ['ffprobe', ffprobePath],
  ] as const) {
    await writeFile(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${toolLog}'\nexec '${real}' "$@"\n`);
    await chmod(path.join(bin, name), 0o755);
  }
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  server = await startTestServer();
  pose = await createPosePool({ model: 'lightning', threads: 1 });
}, 120_000);

afterAll(async () => {
  await pose.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const jobFor = (s3Key: string, includeFrames: boolean): AnalysisInput['job'] =>
  processingJobRow({
    s3Bucket: server.storage.bucket,
    s3Key,
    includeFrames,
    ownerId: 'analyzer-test',
    createdBy: 'analyzer-test',
  });

const analyse = (storage: ObjectStorage, key: string, includeFrames: boolean) =>
  createVideoAnalyzer({ storage, pose, model: { name: 'movenet', version: 'test' }, workDir: dir })({
    job: jobFor(key, includeFrames),
    signal: new AbortController().signal,
    reportProgress: async () => {},
    confirmLease: async () => {},
  });

describe('createVideoAnalyzer', () => {
  it('stores every frame as a JPEG from the ffmpeg that extracts the frames: one process in all', async () => {
    const clip = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'person.mp4'), seconds: 3, fps: 25 });
    const key = `coach_plus/coach/a/${crypto.randomUUID()}/v/original.mp4`;
    await server.storage.putObject(key, await readFile(clip), 'video/mp4');
    await writeFile(toolLog, '');

    const result = await analyse(server.storage, key, true);

    const frameCount = Number(result.frameCount);
    expect(frameCount).toBeGreaterThanOrEqual(29);
    const starts = (await readFile(toolLog, 'utf8')).split('\n').filter((line) => line.startsWith('ffmpeg '));
    // One ffmpeg writes both the raw frames for the pose model and the JPEGs: no second encoder.
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatch(/rawvideo.*mjpeg/);
    const prefix = key.slice(0, key.lastIndexOf('/') + 1);
    for (const index of [0, frameCount - 1]) {
      const body = await server.storage.getStream(`${prefix}frames/${String(index).padStart(6, '0')}.jpg`);
      const bytes = new Uint8Array(await new Response(body).arrayBuffer());
      expect([...bytes.subarray(0, 2), ...bytes.subarray(-2)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    }
  }, 120_000);

  it('decodes and stores the next chunk of frames while the pose threads work on one', async () => {
    const clip = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'overlap.mp4'), seconds: 3, fps: 25 });
    const key = `coach_plus/coach/a/${crypto.randomUUID()}/v/original.mp4`;
    await server.storage.putObject(key, await readFile(clip), 'video/mp4');
    const chunkSize = 8;
    const stored = new Set<string>();
    const storage: ObjectStorage = {
      ...server.storage,
      bucket: server.storage.bucket,
      putObject: async (k, body, contentType) => {
        await server.storage.putObject(k, body, contentType);
        stored.add(k);
      },
    };
    const nextChunkFrame = `${key.slice(0, key.lastIndexOf('/') + 1)}frames/${String(chunkSize).padStart(6, '0')}.jpg`;
    let calls = 0;
    // The first chunk's poses are held back until a frame of the second chunk is stored: a pass
    // that waited for them before decoding on would never get there.
    const watching: PosePool = {
      ...pose,
      model: pose.model,
      threads: pose.threads,
      close: () => pose.close(),
      estimate: async (frames, options) => {
        if (++calls === 1) await until(() => stored.has(nextChunkFrame), 30_000);
        return pose.estimate(frames, options);
      },
    };

    const result = await createVideoAnalyzer({
      storage,
      pose: watching,
      model: { name: 'movenet', version: 'test' },
      workDir: dir,
      chunkSize,
    })({
      job: jobFor(key, true),
      signal: new AbortController().signal,
      reportProgress: async () => {},
      confirmLease: async () => {},
    });

    expect(Number(result.frameCount)).toBeGreaterThan(2 * chunkSize);
    expect(calls).toBeGreaterThan(2);
  }, 120_000);

  it('leaves no frame upload running once an analysis failed on a frame it could not store', async () => {
    const clip = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'refused.mp4'), seconds: 2, fps: 25 });
    const key = `coach_plus/coach/a/${crypto.randomUUID()}/v/original.mp4`;
    await server.storage.putObject(key, await readFile(clip), 'video/mp4');
    const frames = `${key.slice(0, key.lastIndexOf('/') + 1)}frames/`;
    const failing = `${frames}000002.jpg`;
    const late = `${frames}000015.jpg`;
    let lateStarted = false;
    let inFlight = 0;
    const storage: ObjectStorage = {
      ...server.storage,
      bucket: server.storage.bucket,
      putObject: async (k, body, contentType) => {
        if (k === failing) throw new Error('injected: storage refused the frame');
        if (!k.startsWith(frames)) return server.storage.putObject(k, body, contentType);
        if (k === late) lateStarted = true;
        inFlight += 1;
        try {
          // The other frames land well after the last ones were queued, when the pass is about to end.
          await until(() => lateStarted, 30_000);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await server.storage.putObject(k, body, contentType);
        } finally {
          inFlight -= 1;
        }
      },
    };

    const outcome = await analyse(storage, key, true).then(
      () => 'completed',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(outcome).toContain('injected: storage refused the frame');
    expect(inFlight).toBe(0);
  }, 120_000);

  it('stops downloading a file whose first bytes are not a video', async () => {
    const key = `coach_plus/coach/a/${crypto.randomUUID()}/v/original.mp4`;
    const size = 32 * 1024 * 1024;
    await server.storage.putObject(key, new Uint8Array(size).fill(0x41), 'video/mp4');
    let delivered = 0;
    const counting: ObjectStorage = {
      ...server.storage,
      bucket: server.storage.bucket,
      getStream: async (k, options) => {
        const body = await server.storage.getStream(k, options);
        return body?.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              delivered += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
      },
    };

    const error = await analyse(counting, key, false).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentAnalysisError);
    expect(error).toMatchObject({ code: 'NOT_A_VIDEO' });
    expect(delivered).toBeLessThan(size / 8);
    // Nothing of it kept on disk either.
    expect((await readdir(dir)).filter((name) => name.startsWith('analysis-'))).toEqual([]);
  }, 60_000);
});

/** Resolves once `check` passes; rejects after `timeoutMs`, so a pass that never gets there fails rather than hangs. */
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('cleanStaleWorkDirs', () => {
  it('removes the downloads of processes that are gone and keeps live ones and unrelated folders', async () => {
    const root = await mkdtemp(path.join(dir, 'tmp-'));
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.once('exit', () => resolve(child.pid ?? 0));
    });
    const names = [
      `analysis-${dead}-AbC123`,
      `analysis-${process.pid}-XyZ789`,
      'analysis-Qw3rTy',
      'analysis-e2e-k9J2mN',
      'other',
    ];
    for (const name of names) {
      await mkdir(path.join(root, name));
      await writeFile(path.join(root, name, 'video'), 'downloaded bytes');
    }

    const removed = await cleanStaleWorkDirs(root);

    expect(removed.map((p) => path.basename(p)).sort()).toEqual([`analysis-${dead}-AbC123`, 'analysis-Qw3rTy']);
    expect((await readdir(root)).sort()).toEqual([`analysis-${process.pid}-XyZ789`, 'analysis-e2e-k9J2mN', 'other'].sort());
  });

  it('runs when a worker starts, on the temp folder its downloads go to', async () => {
    const root = await mkdtemp(path.join(dir, 'tmp-'));
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.once('exit', () => resolve(child.pid ?? 0));
    });
    await mkdir(path.join(root, `analysis-${dead}-AbC123`));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      const worker = await startTestWorker(server, { poseThreads: 1, env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' } });
      await worker.stop();
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    expect(await readdir(root)).toEqual([]);
  }, 60_000);
});
