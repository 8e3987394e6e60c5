import { describe, expect, it } from 'vitest';

import {
  analyseClip,
  chooseSubject,
  createOneEuroFilter,
  createTrackLabeller,
  type ClipSample,
  type KeypointName,
  type Pose,
} from '../src/index.ts';
import { makePose } from './helpers/skeleton.ts';

/** The standing figure moved by (dx, dy), as a full Pose at 10 fps sample `index`. */
function sample(index: number, dx = 0, changes: Parameters<typeof makePose>[0] = {}): Omit<ClipSample, 'track'> {
  const { keypoints } = makePose(changes);
  const pose: Pose = {
    keypoints: keypoints.map((k) => ({ ...k, x: k.x + dx })),
    score: 0.9,
    width: 640,
    height: 360,
    cropRegion: { left: 0, top: -140, size: 640 },
  };
  return { index, timestampSeconds: index / 10, pose };
}

function labelled(samples: Omit<ClipSample, 'track'>[]): ClipSample[] {
  const tracks = createTrackLabeller();
  return samples.map((s) => ({ ...s, track: tracks.next(s.pose) }));
}

describe('createOneEuroFilter', () => {
  it('holds a still signal exactly and follows a step within a few samples', () => {
    const filter = createOneEuroFilter({ minCutoff: 1, beta: 0, derivativeCutoff: 1 });
    for (let i = 0; i < 5; i++) expect(filter.next(10, i / 10)).toBe(10);
    const afterStep = [5, 6, 7, 8, 9, 10, 11, 12].map((i) => filter.next(20, i / 10));
    expect(afterStep[0]).toBeGreaterThan(10);
    expect(afterStep[0]).toBeLessThan(20); // smoothed, not passed through
    expect(afterStep.at(-1)).toBeGreaterThan(19);
  });

  it('lags less on a fast move when beta is raised', () => {
    const slow = createOneEuroFilter({ minCutoff: 1, beta: 0, derivativeCutoff: 1 });
    const fast = createOneEuroFilter({ minCutoff: 1, beta: 1, derivativeCutoff: 1 });
    let a = 0;
    let b = 0;
    for (let i = 0; i < 5; i++) {
      a = slow.next(i * 10, i / 10);
      b = fast.next(i * 10, i / 10);
    }
    expect(40 - b).toBeLessThan(40 - a);
  });
});

describe('subject tracks', () => {
  it('keeps one track for a person walking, and starts another when the pose lands on someone else', () => {
    const tracks = createTrackLabeller();
    const walking = [0, 10, 20, 30].map((dx, i) => tracks.next(sample(i, dx).pose));
    expect(new Set(walking)).toEqual(new Set([0]));
    // 300 px away is 3.75 torso lengths (80 px): not the same person one sample later.
    expect(tracks.next(sample(4, 330).pose)).toBe(1);
    // Back where the first person was: recognised again.
    expect(tracks.next(sample(5, 35).pose)).toBe(0);
    // No confident torso: nobody to label.
    expect(tracks.next(sample(6, 35, { left_hip: [115, 150, 0.1] }).pose)).toBeNull();
  });

  it('chooses the person seen most, counts switches, and reports coverage', () => {
    const { status, summary } = chooseSubject([0, 0, 1, 0, null, 0, 1]);
    expect(status).toEqual(['subject', 'subject', 'other', 'subject', 'lost', 'subject', 'other']);
    expect(summary).toEqual({ track: 0, frames: 4, otherFrames: 2, lostFrames: 1, coverage: 4 / 7, switches: 3 });
  });

  it('keeps the first person found when the coach pointed at them, however long others are seen', () => {
    const { summary } = chooseSubject([null, 2, 0, 0, 0], { isFirstChosen: true });
    expect(summary).toMatchObject({ track: 2, frames: 1, otherFrames: 3 });
  });
});

describe('analyseClip', () => {
  it('measures only the subject, and says the result is unreliable when less than half the clip follows them', () => {
    const clip = labelled([sample(0), sample(1), sample(2, 330), sample(3, 330), sample(4, 330, {}), sample(5, 0)].slice(0, 5));
    const { frames, summary } = analyseClip(clip, { minReliableFrames: 1 });
    expect(frames.map((f) => f.subject)).toEqual(['other', 'other', 'subject', 'subject', 'subject']);
    expect(frames.slice(0, 2).every((f) => f.metrics === null)).toBe(true);
    expect(summary.subject).toMatchObject({ frames: 3, otherFrames: 2, switches: 1 });
    expect(summary.reliable).toBe(true);

    const mostlyOthers = labelled([
      sample(0),
      sample(1),
      sample(2),
      sample(3, 330),
      sample(4, 330),
      sample(5, 660),
      sample(6, 990),
    ]);
    const verdict = analyseClip(mostlyOthers, { minReliableFrames: 1 }).summary;
    expect(verdict.subject.coverage).toBeLessThan(0.5);
    expect(verdict.reliable).toBe(false);
    expect(verdict.unreliableReasons).toEqual(['subject-not-followed']);
  });

  it('drops values outside their bounds and counts them, never averaging them', () => {
    // Shoulders tilted 45° in every frame: outside ±30°.
    const clip = labelled(
      Array.from({ length: 6 }, (_, i) => sample(i, 0, { left_shoulder: [120, 100], right_shoulder: [80, 60] })),
    );
    const { frames, summary } = analyseClip(clip, { bounds: { shoulderTilt: { min: -30, max: 30 } } });
    expect(summary.metrics.shoulderTilt).toBeNull();
    expect(summary.droppedValues.shoulderTilt).toBe(6);
    expect(frames[0]?.metrics?.shoulderTilt).toMatchObject({ value: null, reason: 'implausible' });
    expect(summary.metrics.leftElbowAngle?.count).toBe(6); // other metrics unaffected
  });

  it('leaves a keypoint that jumps away for one sample out of that frame', () => {
    const clip = labelled(Array.from({ length: 6 }, (_, i) => sample(i, 0, i === 3 ? { left_wrist: [300, 150] } : {})));
    const { frames, summary } = analyseClip(clip);
    expect(summary.outlierKeypoints).toBe(1);
    expect(frames[3]?.metrics?.leftElbowAngle).toMatchObject({ value: null, reason: 'low-confidence' });
    expect(summary.metrics.leftElbowAngle?.max).toBeCloseTo(180, 3);
  });

  it('finds the stance, the stride (front foot down) and the deepest front-knee bend', () => {
    // Side-on batter facing right (nose ahead of the shoulders): still for 4 samples, then the
    // front (left) foot strides forward and the front knee bends.
    const side: Partial<Record<KeypointName, readonly [number, number]>> = { nose: [125, 40] };
    const stride = (reach: number, bend: number) => ({
      ...side,
      left_knee: [115 + reach / 2 + bend, 200] as const,
      left_ankle: [115 + reach, 250] as const,
    });
    const clip = labelled([
      sample(0, 0, stride(0, 0)),
      sample(1, 0, stride(0, 0)),
      sample(2, 0, stride(0, 0)),
      sample(3, 0, stride(20, 0)),
      sample(4, 0, stride(60, 0)),
      sample(5, 0, stride(90, 0)),
      sample(6, 0, stride(90, 25)),
      sample(7, 0, stride(90, 10)),
    ]);
    const { moments } = analyseClip(clip).summary;
    expect(moments.stance?.index).toBeLessThan(3);
    expect(moments.frontFootDown?.index).toBeGreaterThanOrEqual(5);
    expect(moments.maxFrontKneeBend?.index).toBeGreaterThanOrEqual(6);
    expect(moments.maxFrontKneeBend?.values.frontLegAngle).toBeLessThan(170);
    expect(Object.keys(moments.stance?.values ?? {})).toContain('stanceWidthToTorso');
  });
});
