import type { VideoFrame, VideoProbe } from '@coach/media';
import { computeFrameMetrics, type FrameMetrics, type Pose } from '@coach/pose';

export interface FrameRecord {
  index: number;
  timestampSeconds: number;
  poseScore: number;
  keypoints: { name: string; x: number; y: number; score: number }[];
  metrics: FrameMetrics;
}

export function toRecord(frame: VideoFrame, pose: Pose): FrameRecord {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  return {
    index: frame.index,
    timestampSeconds: round(frame.timestampSeconds, 3),
    poseScore: round(pose.score, 3),
    // Pixel coordinates in the analysed frame (frame.width × frame.height).
    keypoints: pose.keypoints.map((k) => ({ name: k.name, x: round(k.x, 1), y: round(k.y, 1), score: round(k.score, 3) })),
    metrics: computeFrameMetrics(pose),
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
