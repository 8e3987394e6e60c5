/** The 17 COCO keypoints in MoveNet's output order; a pose's `keypoints[i]` is `KEYPOINT_NAMES[i]`. */
export const KEYPOINT_NAMES = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;

export type KeypointName = (typeof KEYPOINT_NAMES)[number];

/** Shoulders, hips, knees and ankles: the joints that place the body and its stance (arms and face excluded). */
export const BODY_FRAME_KEYPOINTS: readonly KeypointName[] = [
  'left_shoulder',
  'right_shoulder',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
];

/**
 * One body keypoint. `x`/`y` are in the source image's pixels, y growing downward, as
 * continuous coordinates (pixel `i` spans `[i, i + 1)`), so they lie in `[0, width]` ×
 * `[0, height]` (MoveNet may place an occluded joint slightly outside). Divide by the pose's
 * `width`/`height` for normalised coordinates; angles must be measured in pixels, where the
 * axes have the same scale. `left`/`right` are the person's own sides, not the image's.
 */
export interface Keypoint {
  name: KeypointName;
  x: number;
  y: number;
  /** MoveNet's confidence in [0, 1]. */
  score: number;
}

/** A square region of the source image, in pixels; it may extend past the image edges. */
export interface CropRegion {
  left: number;
  top: number;
  size: number;
}

export interface Pose {
  /** Always 17 entries, in `KEYPOINT_NAMES` order. */
  keypoints: Keypoint[];
  /** Mean keypoint score. */
  score: number;
  /** Size of the image the coordinates refer to. */
  width: number;
  height: number;
  /** The region the model looked at for this frame (the whole image, letterboxed, when untracked). */
  cropRegion: CropRegion;
}

/** Index of each keypoint in `Pose.keypoints`. */
export const KEYPOINT_INDEX = Object.fromEntries(KEYPOINT_NAMES.map((name, index) => [name, index])) as Record<
  KeypointName,
  number
>;

/** The keypoint called `name`; throws if the pose is malformed (fewer than 17 keypoints). */
export function keypoint(pose: Pick<Pose, 'keypoints'>, name: KeypointName): Keypoint {
  const found = pose.keypoints[KEYPOINT_INDEX[name]];
  if (found?.name !== name) throw new TypeError(`Pose has no ${name} keypoint at index ${KEYPOINT_INDEX[name]}`);
  return found;
}
