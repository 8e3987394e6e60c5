import { describe, expect, it } from 'vitest';

import { fitWithin } from '@coach/media';

import { analysedFrameSize, PoseTimeline } from '../src/playback/pose-timeline.ts';
import type { FrameRecord } from '../src/results/metrics-file.ts';

const record = (index: number, timestampSeconds: number): FrameRecord => ({
  index,
  timestampSeconds,
  poseScore: 0.9,
  keypoints: [],
  metrics: {},
});

// Five samples a second, stored out of order (as a file may be): 0, 0.2, …, 0.8 s.
const timeline = new PoseTimeline(
  [3, 0, 4, 1, 2].map((i) => record(i, i * 0.2)),
  5,
);

describe('PoseTimeline', () => {
  it('shows the sample nearest the playback time, and none further than half a sample interval from every sample', () => {
    expect(timeline.at(timeline.nearest(0))?.index).toBe(0);
    expect(timeline.at(timeline.nearest(0.29))?.index).toBe(1);
    expect(timeline.at(timeline.nearest(0.31))?.index).toBe(2);
    expect(timeline.at(timeline.nearest(0.9))?.index).toBe(4);
    expect(timeline.nearest(0.95)).toBe(-1);
    expect(timeline.nearest(-0.2)).toBe(-1);
    expect(new PoseTimeline([], 5).nearest(0)).toBe(-1);
  });

  it('steps from one analysed sample to the next or previous, stopping at the ends', () => {
    expect(timeline.step(0, 1)?.timestampSeconds).toBeCloseTo(0.2);
    expect(timeline.step(0.2, 1)?.timestampSeconds).toBeCloseTo(0.4);
    expect(timeline.step(0.2, -1)?.timestampSeconds).toBe(0);
    expect(timeline.step(0, -1)?.timestampSeconds).toBe(0);
    expect(timeline.step(0.8, 1)?.timestampSeconds).toBeCloseTo(0.8);
    // Between samples (a video frame the analysis skipped): to the nearest one's neighbour.
    expect(timeline.step(0.45, 1)?.timestampSeconds).toBeCloseTo(0.6);
  });
});

describe('analysedFrameSize', () => {
  it('is the size the worker scales every frame to (fitWithin in @coach/media), so keypoints land where they were found', () => {
    const sizes = [
      [1920, 1080],
      [1080, 1920],
      [640, 360],
      [548, 342],
      [3840, 2160],
      [1280, 721],
      [719, 1281],
      [320, 240],
      [641, 3],
      [2, 2],
    ] as const;
    for (const [width, height] of sizes) {
      expect(analysedFrameSize(width, height), `${width}×${height}`).toEqual(fitWithin(width, height, 640));
    }
  });
});
