import { distance, jointAngle, midpoint, tiltDegrees, type Point } from './geometry.ts';
import { BODY_FRAME_KEYPOINTS, keypoint, type Keypoint, type KeypointName, type Pose } from './keypoints.ts';

/** Keypoints scoring below this are not trusted (MoveNet's own demos draw from 0.3). */
export const DEFAULT_MIN_KEYPOINT_SCORE = 0.3;

/** The nose must sit this far (× torso length) to one side of the shoulders to tell which way the body faces. */
export const MIN_FACING_OFFSET = 0.1;

/** The ankles must be this far apart horizontally (× torso length) to tell the front foot from the back. */
export const MIN_FOOT_SEPARATION = 0.1;

/**
 * Why a metric has no value:
 * - `low-confidence`: a keypoint it needs scored below the threshold ("not enough confidence");
 * - `degenerate`: the keypoints are confident but coincide, so the geometry is undefined;
 * - `ambiguous`: front/back cannot be told apart (facing the camera, or feet level);
 * - `implausible`: measured, but outside the metric's physically plausible bounds, so dropped.
 */
export type UnmeasuredReason = 'low-confidence' | 'degenerate' | 'ambiguous' | 'implausible';

/**
 * A metric with the confidence it was computed from: the lowest score among the keypoints it
 * uses (a chain is as good as its weakest joint).
 */
export type Measurement<TValue = number> =
  { value: TValue; confidence: number; reason: null } | { value: null; confidence: number; reason: UnmeasuredReason };

export type Side = 'left' | 'right';

export interface FrameMetrics {
  /** Mean score of all 17 keypoints. */
  poseScore: number;
  /** Shoulders, hips, knees and ankles all reach the threshold; summaries use only such frames. */
  reliable: boolean;
  /** Shoulder–elbow–wrist angle, degrees: 180 = straight arm. */
  leftElbowAngle: Measurement;
  rightElbowAngle: Measurement;
  /** Hip–knee–ankle angle, degrees: 180 = straight leg. */
  leftKneeAngle: Measurement;
  rightKneeAngle: Measurement;
  /** Which leg is the front one: the ankle further in the direction the nose points. */
  frontSide: Measurement<Side>;
  /** Knee angle of the front and back legs (see `frontSide`). */
  frontLegAngle: Measurement;
  backLegAngle: Measurement;
  /** Ankle distance ÷ shoulder width. Meaningful from a front-on camera; inflated when side-on. */
  stanceWidth: Measurement;
  /** Ankle distance ÷ torso length: the view-independent stance width, for side-on cameras. */
  stanceWidthToTorso: Measurement;
  /** Shoulder line against the horizontal, degrees: positive = left shoulder lower in the image. */
  shoulderTilt: Measurement;
  /** Hip line against the horizontal, degrees: positive = left hip lower in the image. */
  hipTilt: Measurement;
  /** Shoulder midpoint to hip midpoint, pixels: the body's scale in this frame. */
  torsoLength: Measurement;
  /** The nose, in image pixels. */
  head: Measurement<Point>;
}

export interface MetricOptions {
  /** Keypoint score below which a metric using it is null (default 0.3). */
  minScore?: number;
}

type Lookup = (name: KeypointName) => Keypoint;

/** Coaching metrics for one pose. Pure: no state, no I/O. */
export function computeFrameMetrics(pose: Pick<Pose, 'keypoints'>, options: MetricOptions = {}): FrameMetrics {
  const minScore = options.minScore ?? DEFAULT_MIN_KEYPOINT_SCORE;
  const at: Lookup = (name) => keypoint(pose, name);

  function measure<TValue>(
    names: readonly KeypointName[],
    compute: () => TValue | null,
    nullReason: UnmeasuredReason = 'degenerate',
  ): Measurement<TValue> {
    const confidence = Math.min(...names.map((name) => at(name).score));
    if (!(confidence >= minScore)) return { value: null, confidence, reason: 'low-confidence' };
    const value = compute();
    return value === null ? { value: null, confidence, reason: nullReason } : { value, confidence, reason: null };
  }

  const angleAt = (a: KeypointName, vertex: KeypointName, b: KeypointName) =>
    measure([a, vertex, b], () => jointAngle(at(a), at(vertex), at(b)));
  const kneeAngle = (side: Side) => angleAt(`${side}_hip`, `${side}_knee`, `${side}_ankle`);

  const torsoNames = ['left_shoulder', 'right_shoulder', 'left_hip', 'right_hip'] as const;
  const torso = () => {
    const length = distance(midpoint(at('left_shoulder'), at('right_shoulder')), midpoint(at('left_hip'), at('right_hip')));
    return length < 1 ? null : length; // under a pixel: not a body
  };
  const torsoLength = measure(torsoNames, torso);
  const ankleDistance = () => distance(at('left_ankle'), at('right_ankle'));

  const frontSide = measure<Side>(
    ['nose', ...torsoNames, 'left_ankle', 'right_ankle'],
    () => {
      const scale = torso();
      if (scale === null) return null;
      const facing = at('nose').x - midpoint(at('left_shoulder'), at('right_shoulder')).x;
      const feet = at('left_ankle').x - at('right_ankle').x;
      if (Math.abs(facing) < MIN_FACING_OFFSET * scale || Math.abs(feet) < MIN_FOOT_SEPARATION * scale) return null;
      // The left ankle is in front when it lies further in the facing direction.
      return Math.sign(facing) === Math.sign(feet) ? 'left' : 'right';
    },
    'ambiguous',
  );

  const legAngle = (which: 'front' | 'back'): Measurement => {
    if (frontSide.value === null) return { value: null, confidence: frontSide.confidence, reason: frontSide.reason };
    const side: Side = which === 'front' ? frontSide.value : frontSide.value === 'left' ? 'right' : 'left';
    const knee = kneeAngle(side);
    return { ...knee, confidence: Math.min(knee.confidence, frontSide.confidence) };
  };

  const poseScore = pose.keypoints.reduce((sum, k) => sum + k.score, 0) / pose.keypoints.length;

  return {
    poseScore,
    reliable: BODY_FRAME_KEYPOINTS.every((name) => at(name).score >= minScore),
    leftElbowAngle: angleAt('left_shoulder', 'left_elbow', 'left_wrist'),
    rightElbowAngle: angleAt('right_shoulder', 'right_elbow', 'right_wrist'),
    leftKneeAngle: kneeAngle('left'),
    rightKneeAngle: kneeAngle('right'),
    frontSide,
    frontLegAngle: legAngle('front'),
    backLegAngle: legAngle('back'),
    stanceWidth: measure(['left_ankle', 'right_ankle', 'left_shoulder', 'right_shoulder'], () => {
      const shoulders = distance(at('left_shoulder'), at('right_shoulder'));
      return shoulders < 1 ? null : ankleDistance() / shoulders;
    }),
    stanceWidthToTorso: measure(['left_ankle', 'right_ankle', ...torsoNames], () => {
      const scale = torso();
      return scale === null ? null : ankleDistance() / scale;
    }),
    shoulderTilt: measure(['left_shoulder', 'right_shoulder'], () => tiltDegrees(at('left_shoulder'), at('right_shoulder'))),
    hipTilt: measure(['left_hip', 'right_hip'], () => tiltDegrees(at('left_hip'), at('right_hip'))),
    torsoLength,
    head: measure(['nose'], () => ({ x: at('nose').x, y: at('nose').y })),
  };
}
