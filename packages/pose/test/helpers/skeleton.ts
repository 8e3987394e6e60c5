import { KEYPOINT_NAMES, type KeypointName, type Pose } from '../../src/index.ts';

type Spec = readonly [x: number, y: number, score?: number];

/**
 * A person standing facing the camera (their left on the image's right), arms hanging straight,
 * legs straight, all keypoints scored 0.9: shoulders 40 px apart, torso 80 px, ankles 30 px apart.
 */
const STANDING: Record<KeypointName, Spec> = {
  nose: [100, 40],
  left_eye: [105, 35],
  right_eye: [95, 35],
  left_ear: [110, 38],
  right_ear: [90, 38],
  left_shoulder: [120, 70],
  right_shoulder: [80, 70],
  left_elbow: [120, 110],
  right_elbow: [80, 110],
  left_wrist: [120, 150],
  right_wrist: [80, 150],
  left_hip: [115, 150],
  right_hip: [85, 150],
  left_knee: [115, 200],
  right_knee: [85, 200],
  left_ankle: [115, 250],
  right_ankle: [85, 250],
};

/** The standing figure with some keypoints moved or re-scored. */
export function makePose(changes: Partial<Record<KeypointName, Spec>> = {}): Pick<Pose, 'keypoints'> {
  return {
    keypoints: KEYPOINT_NAMES.map((name) => {
      const [x, y, score = 0.9] = changes[name] ?? STANDING[name];
      return { name, x, y, score };
    }),
  };
}
