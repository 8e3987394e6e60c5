export { createPoseEstimator, type PoseEstimator, type PoseEstimatorOptions } from './estimator.ts';
export { createPosePool, type PoolEstimateOptions, type PosePool, type PosePoolOptions } from './pool.ts';
export type { RgbFrame } from './frame.ts';
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
