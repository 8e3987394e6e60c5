import type { Tensor } from '@tensorflow/tfjs-core';

import { useWasmBackend } from './backend.ts';
import { cropAndResize, initialCropRegion, isWholeFrame, toImagePoint, trackingRegionAfter } from './crop.ts';
import { assertRgbFrame, type RgbFrame } from './frame.ts';
import { KEYPOINT_NAMES, type CropRegion, type Keypoint, type Pose } from './keypoints.ts';
import { loadMoveNet, MOVENET_MODELS, type MoveNetModelName } from './models.ts';
import { torsoOf } from './subject.ts';

export interface PoseEstimatorOptions {
  model: MoveNetModelName;
  /**
   * Follow the person from frame to frame by cropping around the previous pose (default true).
   * Off, every frame is estimated on the whole letterboxed image, independently.
   */
  tracking?: boolean;
}

export interface PoseEstimator {
  readonly model: MoveNetModelName;
  readonly inputSize: number;
  /**
   * Estimates the pose in one frame. Frames of one clip must be passed in order: with tracking,
   * each frame is cropped around the person found in the previous one. Calls are serialised.
   */
  estimate(frame: RgbFrame): Promise<Pose>;
  /**
   * Forgets the tracked person; call before the first frame of a new clip. With `startRegion`,
   * the next frame is cropped there instead of letterboxed whole: tracking carried over from the
   * previous segment of the same clip.
   */
  reset(startRegion?: CropRegion): void;
  /** Frees the model's weights. The estimator cannot be used afterwards. */
  dispose(): void;
}

/**
 * A single-person MoveNet estimator on tfjs' wasm backend, in this thread. It loads the model
 * from the files vendored in packages/pose/models; nothing is downloaded.
 */
export async function createPoseEstimator({ model, tracking = true }: PoseEstimatorOptions): Promise<PoseEstimator> {
  // tfjs is imported by the threads that estimate, not at the top: the pool's own thread (the
  // worker's main thread) never runs a model, and loading tfjs there cost ~25 MiB of RSS.
  const tf = await import('@tensorflow/tfjs-core');
  await useWasmBackend();
  const graph = await loadMoveNet(model);
  const { inputSize } = MOVENET_MODELS[model];

  let region: CropRegion | undefined;
  /** The frame size `region` was derived from; undefined for a region handed in by `reset`. */
  let regionFor: { width: number; height: number } | undefined;
  let isDisposed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function run(frame: RgbFrame): Promise<Pose> {
    if (isDisposed) throw new Error('PoseEstimator has been disposed');
    assertRgbFrame(frame);
    const { width, height } = frame;
    if (!region || (regionFor && (regionFor.width !== width || regionFor.height !== height))) {
      region = initialCropRegion(width, height);
    }
    regionFor = { width, height };
    const pose = await estimateIn(frame, region);
    region = tracking ? trackingRegionAfter(pose) : pose.cropRegion;
    const isFound = torsoOf(pose) !== undefined;
    if (!tracking || !isFound || !isWholeFrame(pose.cropRegion, width, height) || isWholeFrame(region, width, height))
      return pose;
    // A person found on the whole frame: look again, closer. The crop MoveNet tracks with sees the
    // person several times larger, and the clip's first pose should come from the same view
    // as the rest, not from a coarse search that differs by tens of degrees.
    const closer = await estimateIn(frame, region);
    region = trackingRegionAfter(closer);
    return closer;
  }

  async function estimateIn(frame: RgbFrame, cropRegion: CropRegion): Promise<Pose> {
    const { width, height } = frame;
    const input = tf.tensor4d(cropAndResize(frame, cropRegion, inputSize), [1, inputSize, inputSize, 3], 'int32');
    let raw: Float32Array | Int32Array | Uint8Array;
    try {
      // MoveNet has no control flow, so the synchronous executor suffices.
      const output = graph.execute(input) as Tensor;
      try {
        raw = await output.data();
      } finally {
        output.dispose();
      }
    } finally {
      input.dispose();
    }

    // Output [1, 1, 17, 3]: (y, x, score) per keypoint, normalised to the crop.
    const keypoints: Keypoint[] = KEYPOINT_NAMES.map((name, i) => {
      const { x, y } = toImagePoint(cropRegion, raw[i * 3 + 1] ?? 0, raw[i * 3] ?? 0);
      return { name, x, y, score: raw[i * 3 + 2] ?? 0 };
    });
    const score = keypoints.reduce((sum, k) => sum + k.score, 0) / keypoints.length;
    return { keypoints, score, width, height, cropRegion };
  }

  return {
    model,
    inputSize,
    estimate(frame) {
      const result = queue.then(() => run(frame));
      queue = result.catch(() => undefined);
      return result;
    },
    reset(startRegion) {
      region = startRegion;
      regionFor = undefined;
    },
    dispose() {
      if (isDisposed) return;
      isDisposed = true;
      graph.dispose();
    },
  };
}
