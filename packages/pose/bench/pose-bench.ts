// Per-frame cost of each model, in this thread and through the pool with 1 and 2 threads.
// Run: node packages/pose/bench/pose-bench.ts [frames]   (fetches the test photo like the tests do)
import { createPoseEstimator, createPosePool, type MoveNetModelName } from '../src/index.ts';
import { loadTestPhoto, placeOnCanvas } from '../test/helpers/photo.ts';

const count = Number(process.argv[2] ?? 60);
const photo = loadTestPhoto();
// A 640×360 clip with the player sliding 2 px a frame, so tracking has something to follow.
const frames = Array.from({ length: count }, (_, i) => placeOnCanvas(photo, 640, 360, (i * 2) % 90, 9));

const rows: Record<string, string | number>[] = [];
for (const model of ['lightning', 'thunder'] satisfies MoveNetModelName[]) {
  const estimator = await createPoseEstimator({ model });
  for (const frame of frames.slice(0, 5)) await estimator.estimate(frame); // warm up
  estimator.reset();
  let start = performance.now();
  for (const frame of frames) await estimator.estimate(frame);
  const single = (performance.now() - start) / count;
  estimator.dispose();
  rows.push({ model, mode: 'estimator (main thread)', msPerFrame: single.toFixed(1) });

  for (const threads of [1, 2]) {
    start = performance.now();
    const pool = await createPosePool({ model, threads });
    const startup = performance.now() - start;
    await pool.estimate(frames.slice(0, 4 * threads)); // warm up every thread
    start = performance.now();
    await pool.estimate(frames);
    const perFrame = (performance.now() - start) / count;
    await pool.close();
    rows.push({ model, mode: `pool, ${threads} thread(s)`, msPerFrame: perFrame.toFixed(1), startupMs: startup.toFixed(0) });
  }
}
console.table(rows);
