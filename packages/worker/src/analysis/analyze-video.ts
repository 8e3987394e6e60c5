import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { ObjectStorage } from '@coach/aws';
import type { VideoAnalysisJob } from '@coach/db';
import { framesPrefix as framesPrefixOf, inSpan, jobFailure, metricsKey as metricsKeyOf, type AnalysisResult } from '@coach/jobs';
import { DEFAULT_MEDIA_LIMITS, type VideoProbe } from '@coach/media';
import { summarizeMetrics, type PosePool } from '@coach/pose';

import { PermanentAnalysisError } from '../errors.ts';
import type { AnalysisInput, VideoAnalyzer } from '../process-job.ts';
import { checkCaps, type AnalysisCaps } from './caps.ts';
import { download, inspect } from './fetch-video.ts';
import { videoSummary, type FrameRecord } from './frame-records.ts';
import { createFrameStore, type FrameStore } from './frame-store.ts';
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
  const chunkSize = options.chunkSize ?? 32;
  const caps = options.caps ?? DEFAULT_ANALYSIS_CAPS;

  return async ({ job, signal, reportProgress }: AnalysisInput) => {
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
    let frameStore: FrameStore | undefined;
    try {
      const file = path.join(dir, 'video');
      await timed('downloadMs', () => download(options.storage, job, file, signal));
      const probe = await timed('probeMs', () => inspect(file, signal, caps));
      checkCaps(probe, job.sampleFps, caps);

      if (framesPrefix) frameStore = createFrameStore({ storage: options.storage, prefix: framesPrefix, limits: caps.media });
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
          signal,
          reportProgress,
        }),
      );
      timings.poseMs = Math.round(pass.poseMs);
      timings.frameStoreMs = Math.round(pass.storeMs);

      const summary = summarize(pass.records);
      const metricsKey = metricsKeyOf(job.s3Key);
      await timed('metricsStoreMs', () =>
        options.storage.putObject(
          metricsKey,
          JSON.stringify(metricsDocument({ job, model: options.model, probe, summary, records: pass.records })),
          'application/json',
        ),
      );
      timings.totalMs = Math.round(performance.now() - started);

      const result: AnalysisResult = {
        schemaVersion: 1,
        model: options.model,
        video: videoSummary(probe),
        sampleFps: job.sampleFps,
        frameCount: pass.records.length,
        reliableFrameCount: summary.reliableFrameCount,
        reliable: summary.reliable,
        metrics: summary.metrics,
        headStability: summary.headStability,
        frontSide: summary.frontSide,
        timingsMs: timings,
        artifacts: { metricsKey, framesPrefix },
      };
      return result;
    } finally {
      await frameStore?.abort();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** The clip's summary, or the permanent failure of a clip with no frames or nobody in it. */
function summarize(records: FrameRecord[]) {
  if (records.length === 0) throw PermanentAnalysisError.of(jobFailure.noFrames());
  if (!records.some((r) => r.poseScore >= PERSON_FOUND_SCORE)) throw PermanentAnalysisError.of(jobFailure.noPersonFound());
  return summarizeMetrics(records.map((r) => r.metrics));
}

/** `analysis/metrics.json`: everything per frame, for the charts and for later study. */
function metricsDocument(p: {
  job: Pick<VideoAnalysisJob, 'id' | 'sampleFps'>;
  model: { name: string; version: string };
  probe: VideoProbe;
  summary: ReturnType<typeof summarizeMetrics>;
  records: FrameRecord[];
}) {
  return {
    schemaVersion: 1,
    jobId: p.job.id,
    model: p.model,
    sampleFps: p.job.sampleFps,
    video: videoSummary(p.probe),
    summary: p.summary,
    frames: p.records,
  };
}

/** Defaults for real phone video; the worker's settings pass their own. */
export const DEFAULT_ANALYSIS_CAPS: AnalysisCaps = {
  maxDurationSeconds: 30 * 60,
  maxSourceFps: 240,
  maxSourceFrames: 54_000,
  maxAnalysedFrames: 18_000,
  media: DEFAULT_MEDIA_LIMITS,
};
