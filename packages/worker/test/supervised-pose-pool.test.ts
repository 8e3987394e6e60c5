import { describe, expect, it } from 'vitest';

import { silentLogger } from '@coach/jobs';
import type { Pose, PosePool } from '@coach/pose';
import { createSupervisedPosePool } from '@coach/worker';

/** A pool whose thread "crashes" on the first call (as pose/src/pool.ts reports it), or a healthy one. */
function fakePool(crashes: boolean) {
  let failure: Error | undefined;
  let closed = false;
  const pool: PosePool & { closed: () => boolean } = {
    model: 'lightning',
    threads: 1,
    redoneSegments: 0,
    get failure() {
      return failure;
    },
    estimate(frames) {
      if (crashes || failure) {
        failure ??= new Error('Pose worker exited (code 1)');
        return Promise.reject(failure);
      }
      return Promise.resolve(frames.map(() => ({ score: 0.9 }) as unknown as Pose));
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
    closed: () => closed,
  };
  return pool;
}

const frame = { width: 2, height: 2, data: new Uint8Array(12) };

describe('createSupervisedPosePool', () => {
  it('replaces a pool whose thread died: the interrupted call fails, the next one works', async () => {
    const pools = [fakePool(true), fakePool(false)];
    let made = 0;
    const supervised = await createSupervisedPosePool(() => Promise.resolve(pools[made++] ?? fakePool(false)), silentLogger);

    await expect(supervised.estimate([frame])).rejects.toThrow('exited');
    expect(supervised.restarts).toBe(1);
    expect(pools[0]?.closed()).toBe(true);
    await expect(supervised.estimate([frame, frame])).resolves.toHaveLength(2);
    expect(made).toBe(2);
  });

  it('does not replace a healthy pool on an ordinary error', async () => {
    let made = 0;
    const healthy = fakePool(false);
    const supervised = await createSupervisedPosePool(() => {
      made++;
      return Promise.resolve(healthy);
    }, silentLogger);
    const bad = { width: 2, height: 2, data: new Uint8Array(1) };
    healthy.estimate = () => Promise.reject(new RangeError('Frame data has 1 bytes'));
    await expect(supervised.estimate([bad])).rejects.toThrow(RangeError);
    expect(made).toBe(1);
    expect(supervised.restarts).toBe(0);
  });
});
