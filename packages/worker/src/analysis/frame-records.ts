import type { VideoProbe } from '@coach/media';
import type { ClipFrame, ClipSample, FrameMetrics, SubjectStatus } from '@coach/pose';

/** One sampled frame in `metrics.json`. */
export interface FrameRecord {
  index: number;
  timestampSeconds: number;
  poseScore: number;
  /** Whether the pose is the analysed person, someone else, or nobody confidently in view. */
  subject: SubjectStatus;
  /** As MoveNet reported them (unsmoothed), in pixels of the analysed frame. */
  keypoints: { name: string; x: number; y: number; score: number }[];
  /** The subject's metrics from smoothed keypoints; null in frames of someone else or nobody. */
  metrics: FrameMetrics | null;
}

export function toRecord(sample: ClipSample, frame: ClipFrame): FrameRecord {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  const { pose } = sample;
  return {
    index: sample.index,
    timestampSeconds: round(sample.timestampSeconds, 3),
    poseScore: round(pose.score, 3),
    subject: frame.subject,
    // Pixel coordinates in the analysed frame (frame.width × frame.height).
    keypoints: pose.keypoints.map((k) => ({ name: k.name, x: round(k.x, 1), y: round(k.y, 1), score: round(k.score, 3) })),
    metrics: frame.metrics,
  };
}

export function videoSummary(probe: VideoProbe) {
  return {
    durationSeconds: probe.durationSeconds,
    width: probe.displayWidth,
    height: probe.displayHeight,
    rotation: probe.rotation,
    codec: probe.codec,
  };
}
