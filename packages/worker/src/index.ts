export { startWorker, DEFAULT_WORKER_CONFIG, type Worker, type WorkerConfig, type WorkerDeps } from './worker.ts';
export { createJobProcessor, type AnalysisInput, type VideoAnalyzer } from './process-job.ts';
export { startConsumer, type Consumer, type Disposition, type MessageHandler } from './consumer.ts';
export { sweepOnce, startSweeper, type SweepReport, type SweeperOptions } from './sweeper.ts';
export { createUploadEventHandler } from './upload-events/handler.ts';
export { PermanentAnalysisError } from './errors.ts';
// The failure codes live with the job domain; re-exported for the worker's callers.
export { WORKER_FAILURE, CAP_FAILURE } from '@coach/jobs';
export {
  WorkerSettingsSchema,
  toRetentionDefaults,
  toWorkerSettings,
  workerSettingsProblems,
  minimumJobSeconds,
  JOB_TIME_ALLOWANCE,
  workerShutdownMs,
  type WorkerSettings,
} from './settings.ts';
export { createVideoAnalyzer, DEFAULT_ANALYSIS_CAPS, type VideoAnalyzerOptions } from './analysis/analyze-video.ts';
export type { AnalysisCaps } from './analysis/caps.ts';
export { cleanStaleWorkDirs } from './analysis/work-dirs.ts';
export { startAnalysisWorker, type AnalysisWorkerDeps } from './analysis-worker.ts';
export { createSupervisedPosePool } from './analysis/supervised-pose-pool.ts';
export { replayDeadLetters, type ReplayOptions, type ReplayReport } from './dlq-replay.ts';
