import { z } from 'zod';

import { RETENTION_DAY_BOUNDS, retentionPolicyProblems, type RetentionPolicy } from '@coach/jobs';

import { DEFAULT_ANALYSIS_CAPS } from './analysis/analyze-video.ts';
import type { AnalysisCaps } from './analysis/caps.ts';
import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from './worker.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const MIB = 1024 ** 2;

/**
 * Worker tuning from environment-style settings. Parses a record it is given
 * (apps pass their environment); defaults suit one 2-core machine.
 */
export const WorkerSettingsSchema = z.object({
  WORKER_CONCURRENCY: int(1, 64).default(DEFAULT_WORKER_CONFIG.concurrency),
  WORKER_LEASE_SECONDS: int(5, 3600).default(DEFAULT_WORKER_CONFIG.leaseSeconds),
  WORKER_VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200).default(DEFAULT_WORKER_CONFIG.visibilityTimeoutSeconds),
  WORKER_MAX_RECEIVES: int(1, 1000).default(DEFAULT_WORKER_CONFIG.maxReceives),
  WORKER_SHUTDOWN_BUDGET_SECONDS: int(0, 3600).default(DEFAULT_WORKER_CONFIG.shutdownBudgetMs / 1000),
  WORKER_SWEEP_INTERVAL_SECONDS: int(1, 3600).default(DEFAULT_WORKER_CONFIG.sweepIntervalMs / 1000),
  /** Unset: the time the largest job the caps allow needs (`minimumJobSeconds`). */
  WORKER_MAX_JOB_SECONDS: int(30, 7 * 24 * 3600).optional(),
  WORKER_MAX_VIDEO_SECONDS: int(1, 24 * 3600).default(DEFAULT_ANALYSIS_CAPS.maxDurationSeconds),
  WORKER_MAX_FRAME_PIXELS: int(64 * 64, 1_000_000_000).default(DEFAULT_ANALYSIS_CAPS.media.maxFramePixels),
  WORKER_MAX_SOURCE_FPS: int(1, 10_000).default(DEFAULT_ANALYSIS_CAPS.maxSourceFps),
  WORKER_MAX_SOURCE_FRAMES: int(1, 100_000_000).default(DEFAULT_ANALYSIS_CAPS.maxSourceFrames),
  WORKER_MAX_FRAMES_PER_JOB: int(1, 10_000_000).default(DEFAULT_ANALYSIS_CAPS.maxAnalysedFrames),
  WORKER_CHILD_MEMORY_MB: int(64, 1024 * 1024).default(DEFAULT_ANALYSIS_CAPS.media.maxMemoryBytes / MIB),
  WORKER_CHILD_NICE: int(0, 19).default(DEFAULT_ANALYSIS_CAPS.media.niceness),
  /** SQS long-poll wait (SQS allows 0..20); shutdown waits for the last poll to return. */
  WORKER_WAIT_TIME_SECONDS: int(0, 20).default(DEFAULT_WORKER_CONFIG.waitTimeSeconds),
  /** The API's upload size limit: the worker checks a landed upload against it as upload.complete does. */
  MAX_UPLOAD_BYTES: int(1, 5 * 1024 ** 4).default(DEFAULT_WORKER_CONFIG.maxUploadBytes),
  POSE_MODEL: z.enum(['lightning', 'thunder']).default('lightning'),
  POSE_THREADS: int(1, 64).default(2),
  /** Retention for owners without a policy of their own (the API shows it, the sweeper enforces it); unset: keep. */
  RETENTION_DELETE_ORIGINALS_AFTER_DAYS: int(RETENTION_DAY_BOUNDS.min, RETENTION_DAY_BOUNDS.max).optional(),
  RETENTION_DELETE_EVERYTHING_AFTER_DAYS: int(RETENTION_DAY_BOUNDS.min, RETENTION_DAY_BOUNDS.max).optional(),
});

export interface WorkerSettings {
  worker: WorkerConfig;
  pose: { model: 'lightning' | 'thunder'; threads: number };
  caps: AnalysisCaps;
}

type WorkerSettingsValues = z.infer<typeof WorkerSettingsSchema>;

/**
 * Allowances for the deadline, about twice what the 2-core dev machine
 * measured with two jobs at once: MoveNet Lightning ~40 ms per analysed
 * frame, ffmpeg ~3 ms per decoded megapixel (H.264 4K, 40 Mb/s), plus the
 * download, probe and uploads.
 */
export const JOB_TIME_ALLOWANCE = {
  fixedSeconds: 120,
  secondsPerAnalysedFrame: 0.1,
  secondsPerDecodedMegapixel: 0.006,
} as const;

/** How long the largest job the caps allow may take: the least WORKER_MAX_JOB_SECONDS may be. */
export function minimumJobSeconds(caps: AnalysisCaps): number {
  const a = JOB_TIME_ALLOWANCE;
  const decodedMegapixels = (caps.maxSourceFrames * caps.media.maxFramePixels) / 1e6;
  return Math.ceil(
    a.fixedSeconds + caps.maxAnalysedFrames * a.secondsPerAnalysedFrame + decodedMegapixels * a.secondsPerDecodedMegapixel,
  );
}

function toCaps(values: WorkerSettingsValues): AnalysisCaps {
  return {
    maxDurationSeconds: values.WORKER_MAX_VIDEO_SECONDS,
    maxSourceFps: values.WORKER_MAX_SOURCE_FPS,
    maxSourceFrames: values.WORKER_MAX_SOURCE_FRAMES,
    maxAnalysedFrames: values.WORKER_MAX_FRAMES_PER_JOB,
    media: {
      maxFramePixels: values.WORKER_MAX_FRAME_PIXELS,
      maxMemoryBytes: values.WORKER_CHILD_MEMORY_MB * MIB,
      niceness: values.WORKER_CHILD_NICE,
    },
  };
}

/**
 * Rules between settings, as lines for the app's configuration error: a
 * deadline shorter than the largest job the caps allow would stop legitimate
 * videos, so it is refused rather than silently raised.
 */
export function workerSettingsProblems(values: WorkerSettingsValues): string[] {
  const problems = retentionPolicyProblems(toRetentionDefaults(values)).map(
    // The only rule left once each value is in bounds: originals before everything.
    () => '  - RETENTION_DELETE_ORIGINALS_AFTER_DAYS: must be fewer days than RETENTION_DELETE_EVERYTHING_AFTER_DAYS',
  );
  const given = values.WORKER_MAX_JOB_SECONDS;
  const needed = minimumJobSeconds(toCaps(values));
  if (given === undefined || given >= needed) return problems;
  return [
    ...problems,
    `  - WORKER_MAX_JOB_SECONDS: ${given} s is shorter than the ${needed} s the largest job the caps allow may take ` +
      '(WORKER_MAX_FRAMES_PER_JOB, WORKER_MAX_SOURCE_FRAMES × WORKER_MAX_FRAME_PIXELS); raise it, lower those caps, or leave it unset',
  ];
}

/** The configured retention for owners without a policy of their own. */
export function toRetentionDefaults(values: WorkerSettingsValues): RetentionPolicy {
  return {
    deleteOriginalsAfterDays: values.RETENTION_DELETE_ORIGINALS_AFTER_DAYS ?? null,
    deleteEverythingAfterDays: values.RETENTION_DELETE_EVERYTHING_AFTER_DAYS ?? null,
  };
}

export function toWorkerSettings(values: WorkerSettingsValues): WorkerSettings {
  const caps = toCaps(values);
  return {
    worker: {
      ...DEFAULT_WORKER_CONFIG,
      concurrency: values.WORKER_CONCURRENCY,
      leaseSeconds: values.WORKER_LEASE_SECONDS,
      visibilityTimeoutSeconds: Math.max(values.WORKER_VISIBILITY_TIMEOUT_SECONDS, values.WORKER_LEASE_SECONDS),
      maxReceives: values.WORKER_MAX_RECEIVES,
      shutdownBudgetMs: values.WORKER_SHUTDOWN_BUDGET_SECONDS * 1000,
      sweepIntervalMs: values.WORKER_SWEEP_INTERVAL_SECONDS * 1000,
      maxJobSeconds: values.WORKER_MAX_JOB_SECONDS ?? minimumJobSeconds(caps),
      waitTimeSeconds: values.WORKER_WAIT_TIME_SECONDS,
      maxUploadBytes: values.MAX_UPLOAD_BYTES,
      retentionDefaults: toRetentionDefaults(values),
    },
    pose: { model: values.POSE_MODEL, threads: values.POSE_THREADS },
    caps,
  };
}

/**
 * How long a process running this worker may take to stop after SIGTERM: the
 * last long poll and the in-flight jobs' budget wind down together, then a margin.
 */
export function workerShutdownMs(config: WorkerConfig): number {
  return Math.max(config.shutdownBudgetMs, config.waitTimeSeconds * 1000) + 10_000;
}
