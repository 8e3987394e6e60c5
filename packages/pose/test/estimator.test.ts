import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  computeFrameMetrics,
  createPoseEstimator,
  keypoint,
  type KeypointName,
  type MoveNetModelName,
  type Pose,
  type PoseEstimator,
  type RgbFrame,
} from '../src/index.ts';
import { loadTestPhoto, PERSON_BOX, placeOnCanvas } from './helpers/photo.ts';

let photo: RgbFrame;
beforeAll(() => {
  photo = loadTestPhoto(); // first run: fetches opencv-doc with apt-get (see helpers/photo.ts)
});

const meanY = (pose: Pose, ...names: KeypointName[]) =>
  names.reduce((sum, name) => sum + keypoint(pose, name).y, 0) / names.length;

/**
 * Anatomy, not coordinates. In messi5.jpg the player faces the camera (his left is on the
 * image's right) and kicks with his left leg stretched out sideways, so only the averaged
 * knee/ankle heights are compared, not each leg.
 */
function expectBodyOnPerson(pose: Pose, box: typeof PERSON_BOX) {
  expect(pose.score).toBeGreaterThan(0.5);
  for (const k of pose.keypoints) {
    expect(k.x, k.name).toBeGreaterThan(box.left);
    expect(k.x, k.name).toBeLessThan(box.right);
    expect(k.y, k.name).toBeGreaterThan(box.top);
    expect(k.y, k.name).toBeLessThan(box.bottom);
  }
  // Top to bottom (y grows downward).
  const face = meanY(pose, 'nose', 'left_eye', 'right_eye');
  const shoulders = meanY(pose, 'left_shoulder', 'right_shoulder');
  const hips = meanY(pose, 'left_hip', 'right_hip');
  const knees = meanY(pose, 'left_knee', 'right_knee');
  const ankles = meanY(pose, 'left_ankle', 'right_ankle');
  expect(face).toBeLessThan(shoulders);
  expect(shoulders).toBeLessThan(hips);
  expect(hips).toBeLessThan(knees);
  expect(knees).toBeLessThan(ankles);
  for (const side of ['left', 'right'] as const) {
    expect(keypoint(pose, `${side}_hip`).y).toBeLessThan(keypoint(pose, `${side}_knee`).y);
  }
  // Mirrored: every left keypoint on the image's right of its partner, at a similar height.
  const torso = hips - shoulders;
  for (const part of ['eye', 'ear', 'shoulder', 'hip', 'knee', 'ankle'] as const) {
    const left = keypoint(pose, `left_${part}`);
    const right = keypoint(pose, `right_${part}`);
    expect(left.x, part).toBeGreaterThan(right.x);
    if (part !== 'knee' && part !== 'ankle') expect(Math.abs(left.y - right.y), part).toBeLessThan(0.3 * torso);
  }
  // The nose sits between the eyes' columns (± a little), the shoulders wider than the eyes.
  const eyes = [keypoint(pose, 'right_eye').x, keypoint(pose, 'left_eye').x] as const;
  expect(keypoint(pose, 'nose').x).toBeGreaterThan(eyes[0] - 0.1 * torso);
  expect(keypoint(pose, 'nose').x).toBeLessThan(eyes[1] + 0.1 * torso);
  expect(keypoint(pose, 'left_shoulder').x - keypoint(pose, 'right_shoulder').x).toBeGreaterThan(eyes[1] - eyes[0]);
}

describe.each<MoveNetModelName>(['lightning', 'thunder'])('createPoseEstimator (%s)', (model) => {
  let estimator: PoseEstimator;
  beforeAll(async () => {
    estimator = await createPoseEstimator({ model });
  });
  afterAll(() => estimator.dispose());

  it('puts the keypoints on the person in a real photo, first frame and tracked', async () => {
    estimator.reset();
    const first = await estimator.estimate(photo);
    expect(first.keypoints.map((k) => k.name)).toHaveLength(17);
    expect(first).toMatchObject({ width: 548, height: 342 });
    // Found on the whole (letterboxed) frame, then looked at again closer: the first pose is a close one.
    expect(first.cropRegion.size).toBeLessThan(548);
    expectBodyOnPerson(first, PERSON_BOX);

    const tracked = await estimator.estimate(photo);
    expect(tracked.cropRegion.size).toBeLessThan(548); // now cropped around the player
    expectBodyOnPerson(tracked, PERSON_BOX);
  });

  it('gives coaching metrics that fit the photo: kicking leg straighter than the standing leg', async () => {
    estimator.reset();
    await estimator.estimate(photo);
    const metrics = computeFrameMetrics(await estimator.estimate(photo), { minScore: 0.2 });
    expect(metrics.leftKneeAngle.value).toBeGreaterThan(140);
    expect(metrics.rightKneeAngle.value).toBeLessThan(140);
  });

  it('maps back through any padding and aspect ratio: same pose when the photo sits in a bigger frame', async () => {
    estimator.reset();
    await estimator.estimate(photo);
    const reference = await estimator.estimate(photo);
    for (const [width, height, left, top] of [
      [700, 500, 100, 120], // taller than the photo: letterboxed top and bottom
      [1000, 360, 400, 10], // much wider: pillarboxed
    ] as const) {
      estimator.reset();
      const frame = placeOnCanvas(photo, width, height, left, top);
      await estimator.estimate(frame);
      const moved = await estimator.estimate(frame);
      const box = {
        left: PERSON_BOX.left + left,
        right: PERSON_BOX.right + left,
        top: PERSON_BOX.top + top,
        bottom: PERSON_BOX.bottom + top,
      };
      expectBodyOnPerson(moved, box);
      const torso = meanY(reference, 'left_hip', 'right_hip') - meanY(reference, 'left_shoulder', 'right_shoulder');
      for (const name of ['nose', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip'] as const) {
        expect(Math.abs(keypoint(moved, name).x - left - keypoint(reference, name).x), name).toBeLessThan(0.15 * torso);
        expect(Math.abs(keypoint(moved, name).y - top - keypoint(reference, name).y), name).toBeLessThan(0.15 * torso);
      }
    }
  });

  it('follows the person as they move across frames', async () => {
    estimator.reset();
    const width = 720;
    const height = 400;
    const poses: Pose[] = [];
    for (let i = 0; i < 5; i++) poses.push(await estimator.estimate(placeOnCanvas(photo, width, height, i * 30, 30)));
    expect(poses).toHaveLength(5);
    for (const [i, pose] of poses.entries()) {
      const box = {
        left: PERSON_BOX.left + i * 30,
        right: PERSON_BOX.right + i * 30,
        top: PERSON_BOX.top + 30,
        bottom: PERSON_BOX.bottom + 30,
      };
      expectBodyOnPerson(pose, box); // frame 0 too: the coarse whole-frame look is refined
    }
    // The crop follows, in steps: moves under CROP_DEADBAND of its size wait for the next frame.
    expect(poses.at(-1)?.cropRegion.left).toBeGreaterThan((poses[0]?.cropRegion.left ?? 0) + 40);
  });

  it('stays on the most prominent person when a smaller one is in the frame', async () => {
    // The photo at full size on the right, a half-size copy on the left.
    const width = 900;
    const height = 400;
    const frame = placeOnCanvas(photo, width, height, 350, 29);
    const small = halfSize(photo);
    for (let y = 0; y < small.height; y++) {
      frame.data.set(small.data.subarray(y * small.width * 3, (y + 1) * small.width * 3), ((y + 150) * width + 40) * 3);
    }
    estimator.reset();
    for (let i = 0; i < 4; i++) {
      const pose = await estimator.estimate(frame);
      const meanX = pose.keypoints.reduce((sum, k) => sum + k.x, 0) / 17;
      expect(meanX).toBeGreaterThan(350 + PERSON_BOX.left);
    }
    const tracked = await estimator.estimate(frame);
    expectBodyOnPerson(tracked, {
      left: PERSON_BOX.left + 350,
      right: PERSON_BOX.right + 350,
      top: PERSON_BOX.top + 29,
      bottom: PERSON_BOX.bottom + 29,
    });
  });

  it('leaks no tensors per frame and frees the weights on dispose', async () => {
    const other = await createPoseEstimator({ model });
    await other.estimate(photo);
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await other.estimate(photo);
    expect(tf.memory().numTensors).toBe(tensors);
    other.dispose();
    expect(tf.memory().numTensors).toBeLessThan(tensors);
    await expect(other.estimate(photo)).rejects.toThrow(/disposed/);
  });

  it('rejects malformed frames, then carries on', async () => {
    await expect(estimator.estimate({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(RangeError);
    expect((await estimator.estimate(photo)).keypoints).toHaveLength(17);
  });
});

function halfSize(frame: RgbFrame): RgbFrame {
  const width = frame.width >> 1;
  const height = frame.height >> 1;
  const data = new Uint8Array(width * height * 3);
  const at = (x: number, y: number, c: number) => frame.data[(y * frame.width + x) * 3 + c] ?? 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const sum = at(2 * x, 2 * y, c) + at(2 * x + 1, 2 * y, c) + at(2 * x, 2 * y + 1, c) + at(2 * x + 1, 2 * y + 1, c);
        data[(y * width + x) * 3 + c] = sum / 4;
      }
    }
  }
  return { data, width, height };
}
