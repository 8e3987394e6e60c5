import { describe, expect, it } from 'vitest';

import { computeFrameMetrics, DEFAULT_MIN_KEYPOINT_SCORE } from '../src/index.ts';
import { makePose } from './helpers/skeleton.ts';

describe('computeFrameMetrics: joint angles', () => {
  it('gives 180° for straight arms and legs', () => {
    const m = computeFrameMetrics(makePose());
    expect(m.leftElbowAngle.value).toBeCloseTo(180, 6);
    expect(m.rightElbowAngle.value).toBeCloseTo(180, 6);
    expect(m.leftKneeAngle.value).toBeCloseTo(180, 6);
    expect(m.rightKneeAngle.value).toBeCloseTo(180, 6);
  });

  it('gives 90° for a right angle and 135° / 45° in between', () => {
    const m = computeFrameMetrics(
      makePose({
        left_wrist: [160, 110], // forearm horizontal: shoulder above elbow, wrist beside it
        right_wrist: [80 - 40, 110 + 40], // forearm 45° below horizontal, away from the body
        left_ankle: [115 + 50, 200], // shin horizontal
        right_ankle: [85, 200 - 40], // shin folded back onto the thigh: 0°
      }),
    );
    expect(m.leftElbowAngle.value).toBeCloseTo(90, 6);
    expect(m.rightElbowAngle.value).toBeCloseTo(135, 6);
    expect(m.leftKneeAngle.value).toBeCloseTo(90, 6);
    expect(m.rightKneeAngle.value).toBeCloseTo(0, 6);
  });

  it('reports the weakest keypoint as the confidence', () => {
    const m = computeFrameMetrics(makePose({ left_elbow: [120, 110, 0.55], left_wrist: [120, 150, 0.7] }));
    expect(m.leftElbowAngle).toEqual({ value: expect.closeTo(180, 6), confidence: 0.55, reason: null });
    expect(m.rightElbowAngle.confidence).toBe(0.9);
  });

  it('gives null and "low-confidence" when a keypoint is below the threshold, leaving others alone', () => {
    const m = computeFrameMetrics(makePose({ right_wrist: [80, 150, 0.1] }));
    expect(m.rightElbowAngle).toEqual({ value: null, confidence: 0.1, reason: 'low-confidence' });
    expect(m.leftElbowAngle.value).toBeCloseTo(180, 6);
    expect(m.rightKneeAngle.reason).toBeNull();
  });

  it('honours a custom threshold', () => {
    const pose = makePose({ left_knee: [115, 200, 0.25] });
    expect(DEFAULT_MIN_KEYPOINT_SCORE).toBe(0.3);
    expect(computeFrameMetrics(pose).leftKneeAngle.reason).toBe('low-confidence');
    expect(computeFrameMetrics(pose, { minScore: 0.2 }).leftKneeAngle.value).toBeCloseTo(180, 6);
  });

  it('gives null and "degenerate" when confident keypoints coincide', () => {
    const m = computeFrameMetrics(makePose({ left_wrist: [120, 110] }));
    expect(m.leftElbowAngle).toEqual({ value: null, confidence: 0.9, reason: 'degenerate' });
  });
});

describe('computeFrameMetrics: stance, alignment, head', () => {
  it('measures stance width against shoulder width and torso length', () => {
    const m = computeFrameMetrics(makePose({ left_ankle: [160, 250], right_ankle: [40, 250] }));
    expect(m.stanceWidth.value).toBeCloseTo(120 / 40, 6);
    expect(m.torsoLength.value).toBeCloseTo(80, 6);
    expect(m.stanceWidthToTorso.value).toBeCloseTo(120 / 80, 6);
  });

  it('marks shoulder-normalised stance degenerate when the shoulders overlap (side-on)', () => {
    const m = computeFrameMetrics(makePose({ left_shoulder: [100, 70], right_shoulder: [100, 70] }));
    expect(m.stanceWidth.reason).toBe('degenerate');
    expect(m.stanceWidthToTorso.value).toBeCloseTo(30 / 80, 6);
  });

  it('gives 0° tilt for level shoulders and hips, ±45° when one side drops, whichever way the person faces', () => {
    const level = computeFrameMetrics(makePose());
    expect(level.shoulderTilt.value).toBeCloseTo(0, 6);
    expect(level.hipTilt.value).toBeCloseTo(0, 6);

    const leftDropped = computeFrameMetrics(makePose({ left_shoulder: [120, 110] }));
    expect(leftDropped.shoulderTilt.value).toBeCloseTo(45, 6);
    const rightDropped = computeFrameMetrics(makePose({ right_hip: [85, 180] }));
    expect(rightDropped.hipTilt.value).toBeCloseTo(-45, 6);

    // Facing away: left shoulder now on the image's left; the sign still means "left side lower".
    const facingAway = computeFrameMetrics(makePose({ left_shoulder: [80, 110], right_shoulder: [120, 70] }));
    expect(facingAway.shoulderTilt.value).toBeCloseTo(45, 6);
  });

  it('gives the head position from the nose, or null when the nose is not confident', () => {
    expect(computeFrameMetrics(makePose()).head).toEqual({ value: { x: 100, y: 40 }, confidence: 0.9, reason: null });
    expect(computeFrameMetrics(makePose({ nose: [100, 40, 0.05] })).head.reason).toBe('low-confidence');
  });

  it('calls a frame reliable only when shoulders, hips, knees and ankles are all confident', () => {
    expect(computeFrameMetrics(makePose()).reliable).toBe(true);
    expect(computeFrameMetrics(makePose({ left_eye: [105, 35, 0.01], right_wrist: [80, 150, 0.01] })).reliable).toBe(true);
    expect(computeFrameMetrics(makePose({ right_ankle: [85, 250, 0.29] })).reliable).toBe(false);
    expect(computeFrameMetrics(makePose()).poseScore).toBeCloseTo(0.9, 9);
  });
});

describe('computeFrameMetrics: front and back leg', () => {
  // Side-on batter facing the image's right: nose ahead of the shoulders, left foot forward,
  // front knee bent to 90°, back leg straight.
  const sideOn = {
    nose: [125, 40],
    left_shoulder: [105, 70],
    right_shoulder: [95, 70],
    left_hip: [105, 150],
    right_hip: [95, 150],
    left_knee: [155, 150],
    left_ankle: [155, 200],
    right_knee: [75, 200],
    right_ankle: [55, 250],
  } as const;

  it('takes the ankle further in the facing direction as the front leg', () => {
    const m = computeFrameMetrics(makePose(sideOn));
    expect(m.frontSide.value).toBe('left');
    expect(m.frontLegAngle.value).toBeCloseTo(90, 6);
    expect(m.frontLegAngle.value).toBe(m.leftKneeAngle.value);
    expect(m.backLegAngle.value).toBe(m.rightKneeAngle.value);
    expect(m.backLegAngle.value).toBeGreaterThan(170);
  });

  it('swaps when the body faces the other way', () => {
    const m = computeFrameMetrics(makePose({ ...sideOn, nose: [75, 40] }));
    expect(m.frontSide.value).toBe('right');
    expect(m.frontLegAngle.value).toBe(m.rightKneeAngle.value);
    expect(m.backLegAngle.value).toBeCloseTo(90, 6);
  });

  it('is ambiguous facing the camera or with the feet level', () => {
    const facingCamera = computeFrameMetrics(makePose({ ...sideOn, nose: [100, 40] }));
    expect(facingCamera.frontSide).toMatchObject({ value: null, reason: 'ambiguous' });
    expect(facingCamera.frontLegAngle).toMatchObject({ value: null, reason: 'ambiguous' });
    expect(facingCamera.leftKneeAngle.value).toBeCloseTo(90, 6);

    const feetLevel = computeFrameMetrics(makePose({ ...sideOn, left_ankle: [100, 250], right_ankle: [102, 250] }));
    expect(feetLevel.frontSide.reason).toBe('ambiguous');
  });

  it('is low-confidence when the nose or an ankle is not confident', () => {
    const m = computeFrameMetrics(makePose({ ...sideOn, nose: [125, 40, 0.2] }));
    expect(m.frontSide).toEqual({ value: null, confidence: 0.2, reason: 'low-confidence' });
    expect(m.backLegAngle).toEqual({ value: null, confidence: 0.2, reason: 'low-confidence' });
  });

  it('is low-confidence when the front knee is not confident even though the side is known', () => {
    const m = computeFrameMetrics(makePose({ ...sideOn, left_knee: [155, 150, 0.1] }));
    expect(m.frontSide.value).toBe('left');
    expect(m.frontLegAngle).toEqual({ value: null, confidence: 0.1, reason: 'low-confidence' });
    expect(m.backLegAngle.reason).toBeNull();
  });
});
