// Crop-region tracking as in the MoveNet tutorial ("Cropping Algorithm" in TF Hub's movenet.ipynb),
// in pixels: the region is always a square, so the model sees the person undistorted whatever
// the frame's aspect ratio, and anything outside the image is filled with black (letterboxing).
import type { RgbFrame } from './frame.ts';
import { KEYPOINT_INDEX, KEYPOINT_NAMES, type CropRegion, type Keypoint, type Pose } from './keypoints.ts';

/** Keypoints below this score are ignored when sizing the next crop (the tutorial's value). */
export const MIN_CROP_KEYPOINT_SCORE = 0.2;

/** Crops smaller than this (in source pixels) come from degenerate keypoints; fall back to the whole frame. */
const MIN_CROP_SIZE = 8;

const TORSO = ['left_shoulder', 'right_shoulder', 'left_hip', 'right_hip'] as const;

/** The whole image, centred in a square of side max(width, height): a letterbox. */
export function initialCropRegion(width: number, height: number): CropRegion {
  const size = Math.max(width, height);
  return { left: (width - size) / 2, top: (height - size) / 2, size };
}

/**
 * Where to look in the next frame, from this frame's keypoints (in pixels): a square around
 * the hips' midpoint, big enough for 1.9× the torso's and 1.2× the visible body's extent.
 * Falls back to the whole image when the torso is not visible or the person fills the frame.
 */
export function nextCropRegion(
  keypoints: readonly Keypoint[],
  width: number,
  height: number,
  minScore = MIN_CROP_KEYPOINT_SCORE,
): CropRegion {
  const at = (name: (typeof KEYPOINT_NAMES)[number]): Keypoint => {
    const found = keypoints[KEYPOINT_INDEX[name]];
    if (!found) throw new TypeError(`Expected 17 keypoints, got ${keypoints.length}`);
    return found;
  };
  const visible = (name: (typeof KEYPOINT_NAMES)[number]) => at(name).score > minScore;
  const isTorsoVisible = (visible('left_hip') || visible('right_hip')) && (visible('left_shoulder') || visible('right_shoulder'));
  if (!isTorsoVisible) return initialCropRegion(width, height);

  const centerX = (at('left_hip').x + at('right_hip').x) / 2;
  const centerY = (at('left_hip').y + at('right_hip').y) / 2;

  let torsoX = 0;
  let torsoY = 0;
  for (const name of TORSO) {
    torsoX = Math.max(torsoX, Math.abs(centerX - at(name).x));
    torsoY = Math.max(torsoY, Math.abs(centerY - at(name).y));
  }
  let bodyX = 0;
  let bodyY = 0;
  for (const name of KEYPOINT_NAMES) {
    if (at(name).score < minScore) continue;
    bodyX = Math.max(bodyX, Math.abs(centerX - at(name).x));
    bodyY = Math.max(bodyY, Math.abs(centerY - at(name).y));
  }

  let half = Math.max(torsoX * 1.9, torsoY * 1.9, bodyX * 1.2, bodyY * 1.2);
  half = Math.min(half, Math.max(centerX, width - centerX, centerY, height - centerY));
  if (!Number.isFinite(half) || half > Math.max(width, height) / 2 || half * 2 < MIN_CROP_SIZE) {
    return initialCropRegion(width, height);
  }
  return { left: centerX - half, top: centerY - half, size: half * 2 };
}

/**
 * Moves of the crop smaller than this share of its size are ignored: MoveNet's answer shifts
 * with the crop, so a crop chasing its own few-pixel jitter made a motionless person's joint
 * angles wander by tens of degrees.
 */
export const CROP_DEADBAND = 0.08;

/** `next`, unless it is within `CROP_DEADBAND` of `current` in position and size: then `current`. */
export function steadyCropRegion(current: CropRegion, next: CropRegion): CropRegion {
  const moved = Math.max(
    Math.abs(next.left - current.left),
    Math.abs(next.top - current.top),
    Math.abs(next.size - current.size),
  );
  return moved < CROP_DEADBAND * current.size ? current : next;
}

/** Where the tracker looks in the frame after `pose`: the crop that follows this person. */
export function trackingRegionAfter(pose: Pick<Pose, 'keypoints' | 'width' | 'height' | 'cropRegion'>): CropRegion {
  return steadyCropRegion(pose.cropRegion, nextCropRegion(pose.keypoints, pose.width, pose.height));
}

/**
 * Where to look first for a person the coach pointed at (`x`, `y` as fractions of the frame's
 * width and height): a square of half the frame's longer side centred there. Tracking then
 * grows or shrinks it to the person's size.
 */
export function regionAround(point: { x: number; y: number }, width: number, height: number): CropRegion {
  const size = Math.max(width, height) / 2;
  return { left: point.x * width - size / 2, top: point.y * height - size / 2, size };
}

/** Whether `region` is the whole-frame search (`initialCropRegion`), not a crop around someone. */
export function isWholeFrame(region: CropRegion, width: number, height: number): boolean {
  const whole = initialCropRegion(width, height);
  return region.left === whole.left && region.top === whole.top && region.size === whole.size;
}

/**
 * Samples `region` of `frame` into a `size`×`size` RGB image (bilinear, pixel-centre aligned),
 * black outside the frame: the int32 NHWC input MoveNet expects, without the batch axis.
 */
export function cropAndResize(frame: RgbFrame, region: CropRegion, size: number): Int32Array {
  const { data, width, height } = frame;
  const scale = region.size / size;
  const out = new Int32Array(size * size * 3);

  // Per output column: left neighbour, right neighbour and weight, or -1 when outside the image.
  const x0 = new Int32Array(size);
  const x1 = new Int32Array(size);
  const fx = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    const sx = region.left + (j + 0.5) * scale - 0.5;
    if (sx < -0.5 || sx > width - 0.5) {
      x0[j] = -1;
      continue;
    }
    const base = Math.floor(sx);
    x0[j] = Math.max(0, base);
    x1[j] = Math.min(width - 1, base + 1);
    fx[j] = sx - base;
  }

  for (let i = 0; i < size; i++) {
    const sy = region.top + (i + 0.5) * scale - 0.5;
    if (sy < -0.5 || sy > height - 0.5) continue; // row stays black
    const base = Math.floor(sy);
    const row0 = Math.max(0, base) * width * 3;
    const row1 = Math.min(height - 1, base + 1) * width * 3;
    const fy = sy - base;
    for (let j = 0; j < size; j++) {
      const left = x0[j] ?? -1;
      if (left < 0) continue;
      const right = x1[j] ?? left;
      const wx = fx[j] ?? 0;
      const a = row0 + left * 3;
      const b = row0 + right * 3;
      const c = row1 + left * 3;
      const d = row1 + right * 3;
      const o = (i * size + j) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = (data[a + ch] ?? 0) + ((data[b + ch] ?? 0) - (data[a + ch] ?? 0)) * wx;
        const bottom = (data[c + ch] ?? 0) + ((data[d + ch] ?? 0) - (data[c + ch] ?? 0)) * wx;
        out[o + ch] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return out;
}

/** Maps a point MoveNet reports in [0, 1] of its input back to source-image pixels. */
export function toImagePoint(region: CropRegion, normX: number, normY: number): { x: number; y: number } {
  return { x: region.left + normX * region.size, y: region.top + normY * region.size };
}
