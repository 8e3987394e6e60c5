import { describe, expect, it } from 'vitest';

import { cropAndResize, initialCropRegion, nextCropRegion, toImagePoint } from '../src/crop.ts';
import type { RgbFrame } from '../src/frame.ts';
import { splitSegments } from '../src/pool.ts';
import { makePose } from './helpers/skeleton.ts';

/** A black frame with a white `side`×`side` square whose centre is at (cx, cy). */
function frameWithSquare(width: number, height: number, cx: number, cy: number, side = 8): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  for (let y = Math.round(cy - side / 2); y < Math.round(cy + side / 2); y++) {
    for (let x = Math.round(cx - side / 2); x < Math.round(cx + side / 2); x++)
      data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return { data, width, height };
}

/** Brightness-weighted centroid of a size×size model input, in [0, 1] of the input. */
function centroid(input: Int32Array, size: number): { x: number; y: number } {
  let sum = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = input[(i * size + j) * 3] ?? 0;
      sum += v;
      sx += v * (j + 0.5);
      sy += v * (i + 0.5);
    }
  }
  return { x: sx / sum / size, y: sy / sum / size };
}

describe('letterboxing to the model input', () => {
  it('centres the whole image in a square, whatever the aspect ratio', () => {
    expect(initialCropRegion(640, 360)).toEqual({ left: 0, top: -140, size: 640 });
    expect(initialCropRegion(360, 640)).toEqual({ left: -140, top: 0, size: 640 });
    expect(initialCropRegion(200, 200)).toEqual({ left: 0, top: 0, size: 200 });
  });

  it.each([
    [640, 360, 500, 60],
    [360, 640, 40, 600],
    [1920, 1080, 1500, 900],
    [300, 100, 20, 50],
  ])('maps a point in a %ix%i image through a 192 px input and back (at %i,%i)', (width, height, cx, cy) => {
    const frame = frameWithSquare(width, height, cx, cy, Math.max(8, Math.round(width / 60)));
    const region = initialCropRegion(width, height);
    const input = cropAndResize(frame, region, 192);
    const c = centroid(input, 192);
    const back = toImagePoint(region, c.x, c.y);
    const tolerance = region.size / 192; // one model pixel
    expect(Math.abs(back.x - cx)).toBeLessThan(tolerance);
    expect(Math.abs(back.y - cy)).toBeLessThan(tolerance);
  });

  it('fills the letterbox bars with black and keeps the image undistorted', () => {
    const width = 400;
    const height = 100;
    const frame = { data: new Uint8Array(width * height * 3).fill(200), width, height };
    const input = cropAndResize(frame, initialCropRegion(width, height), 192);
    const row = (i: number) => input[(i * 192 + 96) * 3];
    // The image covers rows 72..119 of 192 (100/400 of the height, centred).
    expect(row(10)).toBe(0);
    expect(row(70)).toBe(0);
    expect(row(74)).toBe(200);
    expect(row(118)).toBe(200);
    expect(row(122)).toBe(0);
    expect(row(180)).toBe(0);
  });

  it('maps back through a tracked crop inside the image', () => {
    const frame = frameWithSquare(640, 360, 300, 200);
    const region = { left: 220, top: 110, size: 170 };
    const input = cropAndResize(frame, region, 256);
    const back = toImagePoint(region, centroid(input, 256).x, centroid(input, 256).y);
    expect(back.x).toBeCloseTo(300, 0);
    expect(back.y).toBeCloseTo(200, 0);
  });
});

describe('nextCropRegion', () => {
  it('squares around the hips, sized by the body, when the torso is visible', () => {
    // Hips' midpoint (100, 150); torso reaches 20 px across and 80 px up; eyes 115 px up.
    const pose = makePose();
    const region = nextCropRegion(pose.keypoints, 640, 360);
    const half = Math.max(20 * 1.9, 80 * 1.9, 20 * 1.2, 115 * 1.2);
    expect(region).toEqual({ left: 100 - half, top: 150 - half, size: 2 * half });
    for (const k of pose.keypoints) {
      expect(k.x).toBeGreaterThan(region.left);
      expect(k.x).toBeLessThan(region.left + region.size);
      expect(k.y).toBeGreaterThan(region.top);
      expect(k.y).toBeLessThan(region.top + region.size);
    }
  });

  it('ignores unconfident keypoints when sizing the body', () => {
    const reaching = makePose({ left_wrist: [300, 150] }); // 200 px from the hips
    expect(nextCropRegion(reaching.keypoints, 640, 360).size).toBeCloseTo(2 * 200 * 1.2, 6);
    const unsure = makePose({ left_wrist: [300, 150, 0.1] });
    expect(nextCropRegion(unsure.keypoints, 640, 360).size).toBeCloseTo(2 * 80 * 1.9, 6);
  });

  it('falls back to the whole image when the torso is not visible', () => {
    const pose = makePose({ left_hip: [115, 150, 0.1], right_hip: [85, 150, 0.1] });
    expect(nextCropRegion(pose.keypoints, 640, 360)).toEqual(initialCropRegion(640, 360));
  });

  it('falls back to the whole image when the person fills it', () => {
    expect(nextCropRegion(makePose().keypoints, 200, 200)).toEqual(initialCropRegion(200, 200));
  });
});

describe('splitSegments', () => {
  it('splits frames into contiguous, near-equal segments, one per thread at most', () => {
    expect(splitSegments(10, 2)).toEqual([
      { start: 0, end: 5 },
      { start: 5, end: 10 },
    ]);
    expect(splitSegments(7, 3)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 7 },
    ]);
    expect(splitSegments(1, 4)).toEqual([{ start: 0, end: 1 }]);
    expect(splitSegments(0, 2)).toEqual([]);
  });
});
