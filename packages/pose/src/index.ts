export { createPoseEstimator, type PoseEstimator, type PoseEstimatorOptions } from './estimator.ts';
export { createPosePool, type PoolEstimateOptions, type PosePool, type PosePoolOptions } from './pool.ts';
export type { RgbFrame } from './frame.ts';
export { CROP_DEADBAND, regionAround, trackingRegionAfter } from './crop.ts';
export { KEYPOINT_NAMES, keypoint, type CropRegion, type Keypoint, type KeypointName, type Pose } from './keypoints.ts';
export { MOVENET_MODELS, type MoveNetModelInfo, type MoveNetModelName } from './models.ts';
export {
  computeFrameMetrics,
  DEFAULT_MIN_KEYPOINT_SCORE,
  MIN_FACING_OFFSET,
  MIN_FOOT_SEPARATION,
  type FrameMetrics,
  type Measurement,
  type MetricOptions,
  type Side,
  type UnmeasuredReason,
} from './metrics.ts';
export {
  DEFAULT_MIN_RELIABLE_FRACTION,
  DEFAULT_MIN_RELIABLE_FRAMES,
  NUMERIC_METRICS,
  summarizeMetrics,
  type MetricStats,
  type MetricsSummary,
  type NumericMetricName,
  type SummaryOptions,
} from './summary.ts';
export type { Point } from './geometry.ts';
export {
  analyseClip,
  DEFAULT_MIN_SUBJECT_COVERAGE,
  KEYPOINT_OUTLIER_JUMP,
  type BattingMoment,
  type BattingMoments,
  type ClipFrame,
  type ClipOptions,
  type ClipSample,
  type ClipSummary,
  type MetricBounds,
  type UnreliableReason,
} from './clip.ts';
export {
  chooseSubject,
  createTrackLabeller,
  isSameSubject,
  MAX_SUBJECT_JUMP,
  MAX_SUBJECT_SCALE_CHANGE,
  MAX_TRACK_GAP,
  torsoOf,
  type SubjectStatus,
  type SubjectSummary,
  type Torso,
} from './subject.ts';
export { createOneEuroFilter, type OneEuroFilter, type OneEuroOptions } from './one-euro.ts';
