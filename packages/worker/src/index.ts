export { startWorker, DEFAULT_WORKER_CONFIG, type Worker, type WorkerConfig, type WorkerDeps } from './worker.ts';
export { createJobProcessor, type AnalysisInput, type VideoAnalyzer } from './process-job.ts';
export { startConsumer, type Consumer, type Disposition, type MessageHandler } from './consumer.ts';
export { sweepOnce, startSweeper, type SweepReport, type SweeperOptions } from './sweeper.ts';
export { PermanentAnalysisError, WORKER_FAILURE } from './errors.ts';
export {
  WorkerSettingsSchema,
  toWorkerSettings,
  workerSettingsProblems,
  minimumJobSeconds,
  JOB_TIME_ALLOWANCE,
  workerShutdownMs,
  type WorkerSettings,
} from './settings.ts';
export { createVideoAnalyzer, DEFAULT_ANALYSIS_CAPS, type VideoAnalyzerOptions } from './analysis/analyze-video.ts';
export { CAP_FAILURE, type AnalysisCaps } from './analysis/caps.ts';
export { cleanStaleWorkDirs } from './analysis/work-dirs.ts';
export { startAnalysisWorker, type AnalysisWorkerDeps } from './analysis-worker.ts';
export { createSupervisedPosePool } from './analysis/supervised-pose-pool.ts';
