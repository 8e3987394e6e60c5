import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { createPoseEstimator, createPosePool, trackingRegionAfter, type Pose, type RgbFrame } from '../src/index.ts';
import { loadTestPhoto, placeOnCanvas } from './helpers/photo.ts';

/** A 6-frame clip of the photo sliding right by 15 px a frame, so frame order is visible in the poses. */
let clip: RgbFrame[];
beforeAll(() => {
  const photo = loadTestPhoto();
  clip = Array.from({ length: 6 }, (_, i) => placeOnCanvas(photo, 640, 360, i * 15, 9));
});

const workerPorts = () => process.getActiveResourcesInfo().filter((name) => name === 'MessagePort').length;

describe('createPosePool', () => {
  it('loads tfjs in its threads only: the thread that imports the package and runs the pool never does', async () => {
    // A process of its own (plain node, as the pool's threads load this package), recording every
    // import its main thread resolves while it imports the package and starts and closes a pool.
    const script = `
      import { registerHooks } from 'node:module';
      const resolved = [];
      registerHooks({ resolve: (specifier, context, next) => (resolved.push(specifier), next(specifier, context)) });
      const { createPosePool } = await import(process.argv[2]);
      const pool = await createPosePool({ model: 'lightning', threads: 1 });
      await pool.close();
      console.log(JSON.stringify(resolved));`;
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pose-imports-'));
    let stdout: string;
    try {
      await writeFile(path.join(dir, 'probe.mjs'), script);
      ({ stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'probe.mjs'), index]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const resolved = JSON.parse(stdout) as string[];
    expect(resolved).toContain('./pool.ts');
    expect(resolved.filter((specifier) => specifier.startsWith('@tensorflow/'))).toEqual([]);
  }, 60_000);

  it('returns the single estimator’s poses, in frame order, using two threads', async () => {
    const portsBefore = workerPorts();
    const pool = await createPosePool({ model: 'lightning', threads: 2 });
    try {
      expect(pool.threads).toBe(2);
      expect(workerPorts()).toBe(portsBefore + 2);
      const poses = await pool.estimate(clip);

      const estimator = await createPoseEstimator({ model: 'lightning' });
      const expected: Pose[] = [];
      for (const frame of clip) expected.push(await estimator.estimate(frame));
      estimator.dispose();

      expect(poses).toHaveLength(clip.length);
      // The person is picked on frame 0, then both threads start from where they were. The
      // photo slides 15 px a frame, within the crop's deadband, so a single run also keeps
      // frame 0's crop: the guess holds and the clip comes out exactly as one estimator tracks it.
      expect(pool.redoneSegments).toBe(0);
      expect(poses).toEqual(expected);
      // In order: the nose moves right with the photo.
      const noses = poses.map((pose) => pose.keypoints[0]?.x ?? 0);
      noses.slice(1).forEach((x, i) => expect(x - (noses[i] ?? 0)).toBeGreaterThan(5));
    } finally {
      await pool.close();
    }
    expect(workerPorts()).toBe(portsBefore);
  });

  it('redoes a segment whose guessed crop the person has left, so tracking is that of one run', async () => {
    const photo = loadTestPhoto();
    const sliding = Array.from({ length: 6 }, (_, i) => placeOnCanvas(photo, 900, 360, i * 60, 9));
    const pool = await createPosePool({ model: 'lightning', threads: 2 });
    try {
      const poses = await pool.estimate(sliding);
      const estimator = await createPoseEstimator({ model: 'lightning' });
      const expected: Pose[] = [];
      for (const frame of sliding) expected.push(await estimator.estimate(frame));
      estimator.dispose();
      expect(pool.redoneSegments).toBe(1);
      expect(poses).toEqual(expected);
    } finally {
      await pool.close();
    }
  });

  it('handles fewer frames than threads, and refuses work once closed', async () => {
    const pool = await createPosePool({ model: 'lightning', threads: 2 });
    const [only, ...rest] = await pool.estimate(clip.slice(0, 1));
    expect(rest).toEqual([]);
    expect(only?.keypoints).toHaveLength(17);
    expect(await pool.estimate([])).toEqual([]);
    await pool.close();
    await pool.close(); // idempotent
    await expect(pool.estimate(clip)).rejects.toThrow(/closed/);
  });

  it('continues tracking from the previous chunk of a clip', async () => {
    const pool = await createPosePool({ model: 'lightning', threads: 1 });
    try {
      const estimator = await createPoseEstimator({ model: 'lightning' });
      const expected: Pose[] = [];
      for (const frame of clip.slice(2)) expected.push(await estimator.estimate(frame));
      estimator.dispose();
      const [previous] = expected;
      if (!previous) throw new Error('no pose for frame 2');

      const poses = await pool.estimate(clip.slice(3), { startRegion: trackingRegionAfter(previous) });
      expect(poses).toEqual(expected.slice(1));
    } finally {
      await pool.close();
    }
  });

  it('rejects malformed frames without breaking the pool', async () => {
    const pool = await createPosePool({ model: 'lightning', threads: 1 });
    try {
      await expect(pool.estimate([{ data: new Uint8Array(3), width: 2, height: 2 }])).rejects.toThrow(RangeError);
      expect(await pool.estimate(clip.slice(0, 2))).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });
});
