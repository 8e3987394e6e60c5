import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AnalysisResultSchema, METRIC_CATALOG, type AnalysisResultV2 } from '@coach/jobs';
import { runFfmpeg, videoFromImage } from '@coach/media/testing';
import { createPosePool, MAX_SUBJECT_JUMP, NUMERIC_METRICS, torsoOf, type Keypoint, type PosePool } from '@coach/pose';
import { createVideoAnalyzer } from '@coach/worker';

import { processingJobRow } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';

/**
 * The analysis of real footage, end to end through the emulator, ffmpeg and MoveNet on two
 * threads. `fixtures/street-people.mp4`: the first 12 s of OpenCV's `vtest.avi` (people walking
 * in a street, 768×576, 10 fps; BSD licence, shipped in Debian's opencv-doc), re-encoded as H.264.
 */
const STREET = path.join(import.meta.dirname, 'fixtures', 'street-people.mp4');

let dir: string;
let server: TestServer;
let pose: PosePool;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'subject-analysis-'));
  server = await startTestServer();
  pose = await createPosePool({ model: 'lightning', threads: 2 });
}, 120_000);

afterAll(async () => {
  await pose.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

interface MetricsFile {
  schemaVersion: number;
  frames: {
    index: number;
    subject: 'subject' | 'other' | 'lost';
    keypoints: Keypoint[];
    metrics: Record<string, { value: unknown }> | null;
  }[];
}

/** Analyses a local clip at 10 fps (optionally with the coach's tap on the player), returning the stored result and metrics.json. */
async function analyse(
  file: string,
  hint?: { x: number; y: number },
): Promise<{ result: AnalysisResultV2; metrics: MetricsFile }> {
  const s3Key = `coach_plus/coach/a/${crypto.randomUUID()}/v/original.mp4`;
  await server.storage.putObject(s3Key, await readFile(file), 'video/mp4');
  const analyzer = createVideoAnalyzer({
    storage: server.storage,
    pose,
    model: { name: 'movenet', version: 'test' },
    workDir: dir,
  });
  const job = processingJobRow({
    s3Bucket: server.storage.bucket,
    s3Key,
    sampleFps: 10,
    includeFrames: false,
    subjectHintX: hint?.x ?? null,
    subjectHintY: hint?.y ?? null,
    ownerId: 'o',
    createdBy: 'o',
  });
  const result = AnalysisResultSchema.parse(
    await analyzer({ job, signal: new AbortController().signal, reportProgress: async () => {}, confirmLease: async () => {} }),
  );
  if (result.schemaVersion !== 2) throw new Error('expected a version 2 result');
  const body = await server.storage.getStream(result.artifacts.metricsKey);
  if (!body) throw new Error('metrics.json missing');
  const metrics = (await new Response(body).json()) as MetricsFile;
  return { result, metrics };
}

/** A still photo looped into a clip: nothing moves, so nothing measured should either. */
async function stillClip(name: string, width: number): Promise<string> {
  const out = path.join(dir, name);
  await runFfmpeg([
    '-loop',
    '1',
    '-framerate',
    '10',
    '-i',
    testPhotoPath(),
    '-t',
    '4',
    '-vf',
    `scale=${width}:-2`,
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  return out;
}

describe('one subject, followed through real footage with several people', () => {
  it('never lets the subject’s torso jump more than 1.5 torso lengths between samples unless a switch is reported', async () => {
    const { result, metrics } = await analyse(STREET);

    expect(metrics.schemaVersion).toBe(2);
    expect(metrics.frames).toHaveLength(result.frameCount);
    let previous: { centre: { x: number; y: number }; length: number } | undefined;
    let jumps = 0;
    for (const frame of metrics.frames) {
      if (frame.subject !== 'subject') {
        expect(frame.metrics).toBeNull(); // kept out of the metrics
        continue;
      }
      const torso = torsoOf({ keypoints: frame.keypoints });
      expect(torso).toBeDefined();
      if (!torso) continue;
      if (previous) {
        const jump = Math.hypot(torso.centre.x - previous.centre.x, torso.centre.y - previous.centre.y) / previous.length;
        if (jump > MAX_SUBJECT_JUMP) jumps++;
      }
      previous = torso;
    }
    expect(jumps).toBe(0);
    expect(result.subject.frames).toBeGreaterThan(0);
    expect(result.subject.frames + result.subject.otherFrames + result.subject.lostFrames).toBe(result.frameCount);
    // One person followed through the clip: no hops between the people walking past.
    expect(result.subject.switches).toBe(0);
    expect(result.subject.coverage).toBeGreaterThan(0.8);
    expect(result.reliable).toBe(true);
  }, 180_000);
});

describe('the player the coach pointed at', () => {
  it('follows the person at the tapped point instead of the most prominent one', async () => {
    const firstTorso = (m: MetricsFile) => {
      const frame = m.frames.find((f) => f.subject === 'subject');
      return frame && torsoOf({ keypoints: frame.keypoints });
    };
    // Frame 0 (640×480 once analysed): people at about (222, 220), (430, 160) and (553, 230).
    const byDefault = firstTorso((await analyse(STREET)).metrics);
    const { result, metrics } = await analyse(STREET, { x: 553 / 640, y: 230 / 480 });
    const tapped = firstTorso(metrics);
    expect(byDefault?.centre.x).toBeLessThan(300);
    expect(metrics.frames[0]?.subject).toBe('subject');
    expect(tapped?.centre.x).toBeGreaterThan(520);
    expect(tapped?.centre.x).toBeLessThan(590);
    // They leave the picture on the right later: frames of anyone else are not theirs.
    expect(result.subject.frames).toBeGreaterThan(10);
  }, 180_000);
});

describe('numbers a coach can act on', () => {
  it('gives joint angles steady within ±3° on a still photo', async () => {
    const { result, metrics } = await analyse(await stillClip('still.mp4', 548));
    const angles = ['leftElbowAngle', 'rightElbowAngle', 'leftKneeAngle', 'rightKneeAngle', 'shoulderTilt', 'hipTilt'] as const;
    let measured = 0;
    for (const name of angles) {
      const values = metrics.frames.flatMap((f) => {
        const value = f.metrics?.[name]?.value;
        return typeof value === 'number' ? [value] : [];
      });
      if (values.length === 0) continue; // a joint MoveNet never saw confidently (the photo's far wrist)
      measured++;
      const median = [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
      for (const value of values) expect(Math.abs(value - median), name).toBeLessThanOrEqual(3);
    }
    expect(measured).toBeGreaterThanOrEqual(5);
    expect(result.subject.coverage).toBeGreaterThan(0.9);
  }, 120_000);

  it('keeps every summary value of crowded footage inside its documented bounds', async () => {
    const small = path.join(dir, 'street-384.mp4');
    await runFfmpeg(['-i', STREET, '-vf', 'scale=384:-2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
    for (const { result } of [await analyse(STREET), await analyse(small)]) {
      for (const name of NUMERIC_METRICS) {
        const stats = result.metrics[name];
        if (!stats) continue;
        const { min, max } = METRIC_CATALOG[name].bounds;
        expect(stats.min, name).toBeGreaterThanOrEqual(min);
        expect(stats.max, name).toBeLessThanOrEqual(max);
      }
      if (result.headStability !== null)
        expect(result.headStability).toBeLessThanOrEqual(METRIC_CATALOG.headStability.bounds.max);
    }
  }, 240_000);

  it('gives the same summary for the same clip at two resolutions', async () => {
    const large = await videoFromImage({
      imagePath: testPhotoPath(),
      path: path.join(dir, 'person-960.mp4'),
      seconds: 3,
      fps: 10,
      width: 960,
    });
    const small = path.join(dir, 'person-480.mp4');
    await runFfmpeg(['-i', large, '-vf', 'scale=480:-2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
    const [a, b] = [(await analyse(large)).result, (await analyse(small)).result];
    let compared = 0;
    for (const name of NUMERIC_METRICS) {
      const x = a.metrics[name]?.mean;
      const y = b.metrics[name]?.mean;
      if (x === undefined || y === undefined) continue;
      compared++;
      const tolerance = METRIC_CATALOG[name].unit === 'degrees' ? 5 : 0.1;
      expect(Math.abs(x - y), name).toBeLessThanOrEqual(tolerance);
    }
    expect(compared).toBeGreaterThanOrEqual(6);
  }, 120_000);
});

describe('the metric catalogue', () => {
  it('bounds and documents every summarised metric', () => {
    for (const name of NUMERIC_METRICS) expect(METRIC_CATALOG[name].bounds, name).toBeDefined();
  });
});
