// A whole clip's poses turned into numbers about one person: who the subject is in each sample,
// their keypoints smoothed and cleaned of outliers, per-frame metrics with implausible values
// dropped, the batting moments, and a summary that says when it cannot be trusted.
import { distance } from './geometry.ts';
import { BODY_FRAME_KEYPOINTS, keypoint, KEYPOINT_NAMES, type Keypoint, type Pose } from './keypoints.ts';
import { computeFrameMetrics, DEFAULT_MIN_KEYPOINT_SCORE, type FrameMetrics } from './metrics.ts';
import { createOneEuroFilter } from './one-euro.ts';
import { chooseSubject, torsoOf, type SubjectStatus, type SubjectSummary } from './subject.ts';
import {
  NUMERIC_METRICS,
  summarizeMetrics,
  type MetricsSummary,
  type NumericMetricName,
  type SummaryOptions,
} from './summary.ts';

export interface ClipSample {
  index: number;
  timestampSeconds: number;
  pose: Pose;
  /** Track number from `createTrackLabeller` (null: no confident torso). */
  track: number | null;
}

/** Inclusive plausible range of a metric; a value outside it is dropped and counted. */
export interface MetricBounds {
  min: number;
  max: number;
}

export interface ClipOptions extends SummaryOptions {
  /** Plausible range per metric (the catalogue in @coach/jobs); metrics without one are not bounded. */
  bounds?: Partial<Record<NumericMetricName, MetricBounds>>;
  /** Smallest share of the clip that must follow the subject for `reliable` (default 0.5). */
  minSubjectCoverage?: number;
  /** The first person found is the subject (the coach pointed at them), not the one seen most. */
  isFirstChosen?: boolean;
}

export const DEFAULT_MIN_SUBJECT_COVERAGE = 0.5;

/**
 * One Euro settings for keypoints in torso lengths: at rest the cut-off is 1 Hz (a still joint's
 * jitter of a few pixels disappears), and it rises by 1.5 Hz per torso length per second of speed
 * so a stride is followed within a sample or two at 10 fps.
 */
const KEYPOINT_FILTER = { minCutoff: 1, beta: 1.5, derivativeCutoff: 1 } as const;

/**
 * A confident keypoint further than this (torso lengths) from its smoothed track in one sample is
 * an outlier (MoveNet snapping to another limb or person) and is left out of that frame.
 */
export const KEYPOINT_OUTLIER_JUMP = 1.2;

/** After this many outliers in a row the joint really moved: the track restarts from it. */
const MAX_OUTLIER_RUN = 2;

export interface ClipFrame {
  index: number;
  timestampSeconds: number;
  subject: SubjectStatus;
  /** Metrics of the subject from smoothed keypoints, implausible values dropped; null for other frames. */
  metrics: FrameMetrics | null;
}

export interface BattingMoment {
  index: number;
  timestampSeconds: number;
  /** The subject's metrics in that frame (null where unmeasured). */
  values: Record<NumericMetricName, number | null>;
}

export interface BattingMoments {
  /** The set-up: the stillest reliable frame before the stride. */
  stance: BattingMoment | null;
  /** Front foot down: the widest stance (ankles apart ÷ torso length) of the clip. */
  frontFootDown: BattingMoment | null;
  /** The smallest front-knee angle of the clip. */
  maxFrontKneeBend: BattingMoment | null;
}

export type UnreliableReason = 'too-few-confident-frames' | 'subject-not-followed';

export interface ClipSummary extends MetricsSummary {
  subject: SubjectSummary;
  /** Values outside their plausible bounds, per metric: dropped from frames and summary alike. */
  droppedValues: Record<NumericMetricName, number>;
  /** Keypoints left out as outliers (see `KEYPOINT_OUTLIER_JUMP`). */
  outlierKeypoints: number;
  moments: BattingMoments;
  /** Why `reliable` is false; empty when it is true. */
  unreliableReasons: UnreliableReason[];
}

/** Analyses one clip's samples, in clip order. Pure. */
export function analyseClip(
  samples: readonly ClipSample[],
  options: ClipOptions = {},
): { frames: ClipFrame[]; summary: ClipSummary } {
  const { status, summary: subject } = chooseSubject(
    samples.map((s) => s.track),
    { isFirstChosen: options.isFirstChosen ?? false },
  );
  const droppedValues = Object.fromEntries(NUMERIC_METRICS.map((name) => [name, 0])) as Record<NumericMetricName, number>;
  const smoother = createKeypointSmoother();
  const subjectFrames: MomentFrame[] = [];

  const frames = samples.map((sample, i): ClipFrame => {
    const which = status[i] ?? 'lost';
    const base = { index: sample.index, timestampSeconds: sample.timestampSeconds, subject: which };
    if (which !== 'subject') {
      smoother.interrupt();
      return { ...base, metrics: null };
    }
    const smoothed = smoother.next(sample.pose, sample.timestampSeconds);
    const metrics = computeFrameMetrics(smoothed);
    for (const name of NUMERIC_METRICS) {
      const bounds = options.bounds?.[name];
      const { value, confidence } = metrics[name];
      if (bounds && value !== null && !(value >= bounds.min && value <= bounds.max)) {
        metrics[name] = { value: null, confidence, reason: 'implausible' };
        droppedValues[name]++;
      }
    }
    subjectFrames.push({ ...base, metrics, keypoints: smoothed.keypoints });
    return { ...base, metrics };
  });

  const base = summarizeMetrics(
    subjectFrames.map((f) => f.metrics),
    options,
  );
  // Two separate verdicts: the subject's own frames are mostly confident, and they are most of the clip.
  const unreliableReasons: UnreliableReason[] = [];
  if (!base.reliable) unreliableReasons.push('too-few-confident-frames');
  if (subject.coverage < (options.minSubjectCoverage ?? DEFAULT_MIN_SUBJECT_COVERAGE))
    unreliableReasons.push('subject-not-followed');

  return {
    frames,
    summary: {
      ...base,
      frameCount: samples.length,
      reliable: unreliableReasons.length === 0,
      subject,
      droppedValues,
      outlierKeypoints: smoother.outliers,
      moments: findMoments(subjectFrames),
      unreliableReasons,
    },
  };
}

/** One Euro smoothing of the subject's keypoints, in torso lengths, with outliers left out. */
function createKeypointSmoother() {
  const filters = KEYPOINT_NAMES.map(() => ({
    x: createOneEuroFilter(KEYPOINT_FILTER),
    y: createOneEuroFilter(KEYPOINT_FILTER),
    outlierRun: 0,
  }));
  const scale = createOneEuroFilter({ minCutoff: 0.5, beta: 0, derivativeCutoff: 1 });
  let outliers = 0;

  const restart = () => {
    for (const f of filters) {
      f.x.reset();
      f.y.reset();
      f.outlierRun = 0;
    }
    scale.reset();
  };

  return {
    get outliers() {
      return outliers;
    },
    /** The subject was not seen: the next frame starts the filters afresh. */
    interrupt: restart,
    next(pose: Pose, time: number): Pick<Pose, 'keypoints'> {
      const torso = torsoOf(pose);
      // A subject frame always has a torso; the guard only keeps the types honest.
      const length = scale.next(torso?.length ?? scale.value ?? 1, time);
      const keypoints = pose.keypoints.map((k, i): Keypoint => {
        const f = filters[i];
        if (!f) return k;
        if (!(k.score >= DEFAULT_MIN_KEYPOINT_SCORE)) {
          f.x.reset();
          f.y.reset();
          return k;
        }
        const x = k.x / length;
        const y = k.y / length;
        const px = f.x.value;
        const py = f.y.value;
        if (px !== undefined && py !== undefined && distance({ x, y }, { x: px, y: py }) > KEYPOINT_OUTLIER_JUMP) {
          if (++f.outlierRun <= MAX_OUTLIER_RUN) {
            outliers++;
            return { ...k, score: 0 };
          }
          f.x.reset();
          f.y.reset();
        }
        f.outlierRun = 0;
        return { ...k, x: f.x.next(x, time) * length, y: f.y.next(y, time) * length };
      });
      return { keypoints };
    },
  };
}

interface MomentFrame {
  index: number;
  timestampSeconds: number;
  metrics: FrameMetrics;
  keypoints: Keypoint[];
}

function momentOf(frame: MomentFrame): BattingMoment {
  return {
    index: frame.index,
    timestampSeconds: frame.timestampSeconds,
    values: Object.fromEntries(NUMERIC_METRICS.map((name) => [name, frame.metrics[name].value])) as Record<
      NumericMetricName,
      number | null
    >,
  };
}

function findMoments(frames: readonly MomentFrame[]): BattingMoments {
  type Frame = MomentFrame;
  const extreme = (pick: (f: Frame) => number | null, better: (a: number, b: number) => boolean) => {
    let best: { frame: Frame; value: number } | undefined;
    for (const frame of frames) {
      const value = pick(frame);
      if (value !== null && (!best || better(value, best.value))) best = { frame, value };
    }
    return best?.frame;
  };
  const stride = extreme(
    (f) => f.metrics.stanceWidthToTorso.value,
    (a, b) => a > b,
  );
  const kneeBend = extreme(
    (f) => f.metrics.frontLegAngle.value,
    (a, b) => a < b,
  );

  // Stance: the reliable frame before the stride whose legs and torso moved least since the
  // previous sample (in torso lengths), i.e. the batter set and waiting.
  const before = frames.filter((f) => f.metrics.reliable && (!stride || f.index < stride.index));
  let stance: Frame | undefined;
  let stillest = Infinity;
  for (let i = 1; i < before.length; i++) {
    const motion = jointMotion(before[i - 1], before[i]);
    if (motion !== null && motion < stillest) {
      stillest = motion;
      stance = before[i];
    }
  }
  stance ??= before[0];

  return {
    stance: stance ? momentOf(stance) : null,
    frontFootDown: stride ? momentOf(stride) : null,
    maxFrontKneeBend: kneeBend ? momentOf(kneeBend) : null,
  };
}

/** Mean movement of the stance joints between two frames, in torso lengths; null without a scale. */
function jointMotion(a: MomentFrame | undefined, b: MomentFrame | undefined): number | null {
  const torso = b?.metrics.torsoLength.value;
  if (!a || !b || !torso) return null;
  let sum = 0;
  for (const name of BODY_FRAME_KEYPOINTS) sum += distance(keypoint(a, name), keypoint(b, name));
  return sum / BODY_FRAME_KEYPOINTS.length / torso;
}
