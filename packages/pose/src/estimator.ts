import * as tf from '@tensorflow/tfjs-core';

import { useWasmBackend } from './backend.ts';
import { cropAndResize, initialCropRegion, nextCropRegion, toImagePoint } from './crop.ts';
import { assertRgbFrame, type RgbFrame } from './frame.ts';
import { KEYPOINT_NAMES, type CropRegion, type Keypoint, type Pose } from './keypoints.ts';
import { loadMoveNet, MOVENET_MODELS, type MoveNetModelName } from './models.ts';

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
  /** Forgets the tracked person; call before the first frame of a new clip. */
  reset(): void;
  /** Frees the model's weights. The estimator cannot be used afterwards. */
  dispose(): void;
}

/**
 * A single-person MoveNet estimator on tfjs' wasm backend, in this thread. It loads the model
 * from the files vendored in packages/pose/models; nothing is downloaded.
 */
export async function createPoseEstimator({ model, tracking = true }: PoseEstimatorOptions): Promise<PoseEstimator> {
  await useWasmBackend();
  const graph = await loadMoveNet(model);
  const { inputSize } = MOVENET_MODELS[model];

  let region: CropRegion | undefined;
  let regionFor = { width: 0, height: 0 };
  let isDisposed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function run(frame: RgbFrame): Promise<Pose> {
    if (isDisposed) throw new Error('PoseEstimator has been disposed');
    assertRgbFrame(frame);
    const { width, height } = frame;
    if (!region || regionFor.width !== width || regionFor.height !== height) {
      region = initialCropRegion(width, height);
      regionFor = { width, height };
    }
    const cropRegion = region;

    const input = tf.tensor4d(cropAndResize(frame, cropRegion, inputSize), [1, inputSize, inputSize, 3], 'int32');
    let raw: Float32Array | Int32Array | Uint8Array;
    try {
      // MoveNet has no control flow, so the synchronous executor suffices.
      const output = graph.execute(input) as tf.Tensor;
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

    region = tracking ? nextCropRegion(keypoints, width, height) : cropRegion;
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
    reset() {
      region = undefined;
    },
    dispose() {
      if (isDisposed) return;
      isDisposed = true;
      graph.dispose();
    },
  };
}
