import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { ObjectStorage } from '@coach/aws';
import {
  framesPrefix as framesPrefixOf,
  inSpan,
  jobFailure,
  METRIC_CATALOG,
  metricsKey as metricsKeyOf,
  type AnalysisResultV2,
} from '@coach/jobs';
import { DEFAULT_MEDIA_LIMITS } from '@coach/media';
import {
  analyseClip,
  NUMERIC_METRICS,
  type ClipFrame,
  type ClipSample,
  type ClipSummary,
  type MetricBounds,
  type NumericMetricName,
  type PosePool,
} from '@coach/pose';

import { PermanentAnalysisError } from '../errors.ts';
import type { AnalysisInput, VideoAnalyzer } from '../process-job.ts';
import { checkCaps, type AnalysisCaps } from './caps.ts';
import { download, inspect } from './fetch-video.ts';
import { toRecord, videoSummary } from './frame-records.ts';
import { createFrameStore, type FrameStore } from './frame-store.ts';
import { writeFramesDocument } from './metrics-file.ts';
import { runPosePass } from './pose-pass.ts';
import { workDirPrefix } from './work-dirs.ts';

export interface VideoAnalyzerOptions {
  storage: ObjectStorage;
  pose: PosePool;
  /** Recorded on every result, so metrics can be traced to the model that made them. */
  model: { name: string; version: string };
  /** Longest side frames are scaled to before pose estimation. */
  maxDimension?: number;
  /** Frames sent to the pose pool per call: bounds memory for long clips. */
  chunkSize?: number;
  /** What one video may cost; `DEFAULT_ANALYSIS_CAPS` when omitted. */
  caps?: AnalysisCaps;
  /** Where downloads are kept while analysed (`analysis-<pid>-*` folders); the system temp dir by default. */
  workDir?: string;
}

/** Below this mean keypoint score in every frame, nobody is in the video. */
const PERSON_FOUND_SCORE = 0.25;

/**
 * Download → container sniff → ffprobe → caps → frames at the job's fps →
 * pose per frame → metrics → artefacts under the video's prefix (fixed keys,
 * so a rerun overwrites) → a summary for the job row.
 */
export function createVideoAnalyzer(options: VideoAnalyzerOptions): VideoAnalyzer {
  const maxDimension = options.maxDimension ?? 640;
  // Two chunks are in memory at once (one posed, the next decoded) plus the threads' copies:
  // at 640×360 16 frames are 11 MiB; 32 raised the bench's peak RSS by ~35-50 MiB for no speed.
  const chunkSize = options.chunkSize ?? 16;
  const caps = options.caps ?? DEFAULT_ANALYSIS_CAPS;

  return async ({ job, signal, reportProgress, confirmLease }: AnalysisInput) => {
    const timings: Record<string, number> = {};
    const started = performance.now();
    /** Runs one step, recording how long it took under `name`. */
    const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
      const since = performance.now();
      try {
        // `metricsStoreMs` → the span `analysis metrics store`.
        const phase = name
          .replace(/Ms$/, '')
          .replaceAll(/([A-Z])/g, ' $1')
          .toLowerCase();
        return await inSpan(`analysis ${phase}`, {}, step);
      } finally {
        timings[name] = Math.round(performance.now() - since);
      }
    };
    const dir = await mkdtemp(path.join(options.workDir ?? os.tmpdir(), workDirPrefix()));
    const framesPrefix = job.includeFrames ? framesPrefixOf(job.s3Key) : null;
    const subjectHint =
      job.subjectHintX !== null && job.subjectHintY !== null ? { x: job.subjectHintX, y: job.subjectHintY } : undefined;
    let frameStore: FrameStore | undefined;
    try {
      const file = path.join(dir, 'video');
      await timed('downloadMs', () => download(options.storage, job, file, signal));
      const probe = await timed('probeMs', () => inspect(file, signal, caps));
      checkCaps(probe, job.sampleFps, caps);

      if (framesPrefix) frameStore = createFrameStore({ storage: options.storage, prefix: framesPrefix, signal });
      const pass = await timed('framesMs', () =>
        runPosePass({
          file,
          sampleFps: job.sampleFps,
          probe,
          pose: options.pose,
          frameStore,
          caps,
          maxDimension,
          chunkSize,
          subjectHint,
          signal,
          reportProgress,
        }),
      );
      timings.poseMs = Math.round(pass.poseMs);
      timings.frameStoreMs = Math.round(pass.storeMs);

      const { frames, summary } = analyse(pass.samples, { isFirstChosen: subjectHint !== undefined });
      const metricsKey = metricsKeyOf(job.s3Key);
      const metricsFile = path.join(dir, 'metrics.json');
      await timed('metricsStoreMs', async () => {
        await writeFramesDocument(
          metricsFile,
          {
            schemaVersion: 2,
            jobId: job.id,
            model: options.model,
            sampleFps: job.sampleFps,
            video: videoSummary(probe),
            summary,
          },
          records(pass.samples, frames),
        );
        // A job deleted (or given to another worker) meanwhile must not get its metrics stored.
        await confirmLease();
        await options.storage.putObject(metricsKey, { path: metricsFile }, 'application/json');
      });
      timings.totalMs = Math.round(performance.now() - started);

      const result: AnalysisResultV2 = {
        schemaVersion: 2,
        model: options.model,
        video: videoSummary(probe),
        sampleFps: job.sampleFps,
        frameCount: summary.frameCount,
        reliableFrameCount: summary.reliableFrameCount,
        reliable: summary.reliable,
        unreliableReasons: summary.unreliableReasons,
        metrics: summary.metrics,
        headStability: summary.headStability,
        frontSide: summary.frontSide,
        subject: {
          frames: summary.subject.frames,
          otherFrames: summary.subject.otherFrames,
          lostFrames: summary.subject.lostFrames,
          coverage: summary.subject.coverage,
          switches: summary.subject.switches,
        },
        droppedValues: summary.droppedValues,
        outlierKeypoints: summary.outlierKeypoints,
        moments: summary.moments,
        timingsMs: timings,
        artifacts: { metricsKey, framesPrefix },
      };
      return result;
    } finally {
      await frameStore?.settle();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** metrics.json's frames, one at a time: serialised as they are made, never all held at once. */
function* records(samples: readonly ClipSample[], frames: readonly ClipFrame[]) {
  for (const [i, sample] of samples.entries()) {
    const frame = frames[i];
    if (!frame) throw new Error(`no analysis for sample ${i}`);
    yield toRecord(sample, frame);
  }
}

/** Plausible ranges of the summarised metrics, from the catalogue the README and the web app show. */
export const METRIC_BOUNDS: Record<NumericMetricName, MetricBounds> = Object.fromEntries(
  NUMERIC_METRICS.map((name) => [name, METRIC_CATALOG[name].bounds]),
) as Record<NumericMetricName, MetricBounds>;

/** The clip's analysis, or the permanent failure of a clip with no frames or nobody in it. */
function analyse(samples: ClipSample[], { isFirstChosen }: { isFirstChosen: boolean }) {
  if (samples.length === 0) throw PermanentAnalysisError.of(jobFailure.noFrames());
  if (!samples.some((s) => s.pose.score >= PERSON_FOUND_SCORE)) throw PermanentAnalysisError.of(jobFailure.noPersonFound());
  const analysed = analyseClip(samples, { bounds: METRIC_BOUNDS, isFirstChosen });
  return { frames: analysed.frames, summary: withBoundedHead(analysed.summary) };
}

/** Head stability outside its plausible range is dropped like any other value. */
function withBoundedHead(summary: ClipSummary): ClipSummary {
  const { min, max } = METRIC_CATALOG.headStability.bounds;
  const value = summary.headStability;
  return value !== null && !(value >= min && value <= max) ? { ...summary, headStability: null } : summary;
}

/** Defaults for real phone video; the worker's settings pass their own. */
export const DEFAULT_ANALYSIS_CAPS: AnalysisCaps = {
  maxDurationSeconds: 30 * 60,
  maxSourceFps: 240,
  maxSourceFrames: 54_000,
  maxAnalysedFrames: 18_000,
  media: DEFAULT_MEDIA_LIMITS,
};
