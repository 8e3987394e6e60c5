import { describe, expect, it } from 'vitest';

import { computeFrameMetrics, NUMERIC_METRICS, summarizeMetrics } from '../src/index.ts';
import { makePose } from './helpers/skeleton.ts';

/** Standing figure with the left forearm rotated so the elbow angle is `degrees`, nose shifted by `noseDx`. */
function frame(degrees: number, noseDx = 0, changes: Parameters<typeof makePose>[0] = {}) {
  const radians = (degrees * Math.PI) / 180;
  // Upper arm points up from the elbow (120,110); put the wrist at `degrees` from it.
  const wrist = [120 + 40 * Math.sin(radians), 110 - 40 * Math.cos(radians)] as const;
  return computeFrameMetrics(makePose({ left_wrist: wrist, nose: [100 + noseDx, 40], ...changes }));
}

describe('summarizeMetrics', () => {
  it('gives mean, min, max and population std over reliable frames only', () => {
    const frames = [frame(90), frame(180), frame(135), frame(10, 0, { left_ankle: [115, 250, 0.1] })];
    const summary = summarizeMetrics(frames, { minReliableFrames: 3 });
    expect(summary.frameCount).toBe(4);
    expect(summary.reliableFrameCount).toBe(3);
    const elbow = summary.metrics.leftElbowAngle;
    expect(elbow?.mean).toBeCloseTo(135, 6);
    expect(elbow?.min).toBeCloseTo(90, 6);
    expect(elbow?.max).toBeCloseTo(180, 6);
    expect(elbow?.std).toBeCloseTo(Math.sqrt((45 ** 2 + 45 ** 2) / 3), 6);
    expect(elbow?.count).toBe(3);
    expect(summary.reliable).toBe(true);
  });

  it('skips frames where a metric was null and reports null when no frame had it', () => {
    const frames = [frame(90), frame(90, 0, { right_wrist: [80, 150, 0.1] })];
    const summary = summarizeMetrics(frames);
    expect(summary.metrics.rightElbowAngle?.count).toBe(1);
    expect(summary.metrics.leftElbowAngle?.count).toBe(2);
    expect(summary.metrics.frontLegAngle).toBeNull(); // facing the camera: front leg is ambiguous
    expect(Object.keys(summary.metrics).sort()).toEqual([...NUMERIC_METRICS].sort());
  });

  it('measures head stability as the nose spread over the torso length', () => {
    const still = summarizeMetrics([frame(90), frame(90), frame(90)]);
    expect(still.headStability).toBe(0);
    // Nose x alternates 96 / 104: std 4 px against an 80 px torso.
    const swaying = summarizeMetrics([frame(90, -4), frame(90, 4), frame(90, -4), frame(90, 4)]);
    expect(swaying.headStability).toBeCloseTo(4 / 80, 9);
    expect(summarizeMetrics([frame(90)]).headStability).toBeNull();
  });

  it('is unreliable with too few reliable frames, by count or by share', () => {
    const good = Array.from({ length: 5 }, () => frame(120));
    const bad = Array.from({ length: 6 }, () => frame(120, 0, { left_hip: [115, 150, 0.05] }));
    expect(summarizeMetrics(good).reliable).toBe(true);
    expect(summarizeMetrics(good.slice(0, 4)).reliable).toBe(false); // default needs 5
    expect(summarizeMetrics([...good, ...bad]).reliable).toBe(false); // 5 of 11 < half
    expect(summarizeMetrics([...good, ...bad], { minReliableFraction: 0.4 }).reliable).toBe(true);
  });

  it('handles an empty clip', () => {
    const summary = summarizeMetrics([]);
    expect(summary).toMatchObject({ frameCount: 0, reliableFrameCount: 0, reliable: false, headStability: null });
    expect(Object.values(summary.metrics).every((stats) => stats === null)).toBe(true);
  });

  it('reports the majority front side', () => {
    const sideOn = {
      nose: [125, 40],
      left_shoulder: [105, 70],
      right_shoulder: [95, 70],
      left_ankle: [155, 250],
      right_ankle: [55, 250],
    } as const;
    const left = computeFrameMetrics(makePose(sideOn));
    const right = computeFrameMetrics(makePose({ ...sideOn, nose: [75, 40] }));
    expect(summarizeMetrics([left, left, right]).frontSide).toBe('left');
    expect(summarizeMetrics([left, right]).frontSide).toBeNull();
  });
});
