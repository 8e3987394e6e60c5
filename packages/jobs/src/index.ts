export {
  JOB_TRANSITIONS,
  isTerminal,
  moveJob,
  claimJob,
  writeLeasedJob,
  completeLeasedJob,
  type JobTransition,
  type JobColumns,
  type LeaseExit,
} from './status.ts';
export {
  UPLOAD_REJECTION,
  UPLOAD_CLOSURE,
  WORKER_FAILURE,
  VIDEO_FAILURE,
  CAP_FAILURE,
  JOB_FAILURE_CODES,
  jobFailure,
  failureColumns,
  type JobFailure,
  type JobFailureCode,
  type UploadRejectionCode,
} from './failures.ts';
export {
  videoKey,
  isVideoKey,
  videoPrefix,
  sessionPrefix,
  prefixOfKey,
  metricsKey,
  framesPrefix,
  frameKey,
  VIDEO_CONTENT_TYPES,
  DEFAULT_CONTENT_TYPE,
  type VideoContentType,
} from './keys.ts';
export { AnalysisJobMessageSchema, buildAnalysisJobMessage, type AnalysisJobMessage } from './messages/analysis-job.ts';
export {
  AnalysisResultSchema,
  parseStoredResult,
  type AnalysisResult,
  type AnalysisResultV2,
} from './messages/analysis-result.ts';
export {
  METRIC_CATALOG,
  UNRELIABLE_REASONS,
  type CatalogMetricName,
  type MetricDescription,
  type UnreliableReasonCode,
} from './metrics/metric-catalog.ts';
export { analysisDedupeKey, analysisOutboxMessage } from './outbox/analysis-messages.ts';
export {
  createOutboxDispatcher,
  enqueueForRelay,
  type OutboxDispatcher,
  type OutboxDispatcherOptions,
  type OutboxMessageToSend,
} from './outbox/dispatcher.ts';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox/relay.ts';
export { discardUpload, keyWritableUntil } from './discard.ts';
export { silentLogger, type Logger } from './logger.ts';
export { checkStoredObject, formatBytes } from './upload/stored-object.ts';
export { completeStoredUpload, type UploadCompletion, type UploadCompletionDeps } from './upload/complete-stored-upload.ts';
export { signals, productTracer, inSpan, traceparentOf, contextFromTraceparent, type Signals } from './signals.ts';
export { observeBacklog } from './backlog-gauges.ts';
export { deleteJobRows, deleteOriginal, deleteSessionRows, emptyPrefix } from './deletion/delete-rows.ts';
export {
  KEEP_FOREVER,
  RETENTION_DAY_BOUNDS,
  effectiveRetention,
  originalRemovesAt,
  retentionPolicyProblems,
  type RetentionPolicy,
} from './deletion/retention-policy.ts';
export { RETENTION_ACTOR, applyRetention, type RetentionReport } from './deletion/retention.ts';
