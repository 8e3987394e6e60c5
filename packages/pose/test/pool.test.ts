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

/** Largest distance between keypoints both poses are confident about. */
function maxDistance(a: Pose, b: Pose): number {
  let max = 0;
  a.keypoints.forEach((k, i) => {
    const other = b.keypoints[i];
    if (other && k.score > 0.3 && other.score > 0.3) max = Math.max(max, Math.hypot(k.x - other.x, k.y - other.y));
  });
  return max;
}

describe('createPosePool', () => {
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
      // Frames 0-2 go to the first thread, tracked exactly as by a single estimator.
      expect(poses.slice(0, 3)).toEqual(expected.slice(0, 3));
      // Frames 3-5: the second thread starts from the whole frame and finds the same person, so it is close, not identical.
      for (let i = 3; i < clip.length; i++) {
        const pose = poses[i];
        const reference = expected[i];
        if (!pose || !reference) throw new Error(`missing pose ${i}`);
        expect(maxDistance(pose, reference), `frame ${i}`).toBeLessThan(32); // 5% of the frame's width
      }
      // In order: the nose moves right with the photo.
      const noses = poses.map((pose) => pose.keypoints[0]?.x ?? 0);
      noses.slice(1).forEach((x, i) => expect(x - (noses[i] ?? 0)).toBeGreaterThan(5));
    } finally {
      await pool.close();
    }
    expect(workerPorts()).toBe(portsBefore);
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
