// Type-only: a frontend bundle that imports this package never pulls server code.
export type {
  AppErrorCode,
  CompletedUpload,
  InitiatedUpload,
  JobArtifacts,
  JobDetails,
  JobView,
  SessionView,
  SignedPart,
  UploadProgress,
  VideoContentType,
} from '@coach/api';
export type { AppRouter, JobStatus, RouterInputs, RouterOutputs } from './app-router.ts';

export { createClient, type ApiClient, type CreateClientOptions } from './client.ts';
export { errorCodeOf } from './error-code.ts';
export { isPauseReason, pauseReason, StorageHttpError, UploadError } from './upload/errors.ts';
export type { PartProgress, UploadPhase, UploadProgressEvent } from './upload/progress.ts';
export type { FetchLike } from './upload/put.ts';
export type { BackoffOptions } from './upload/retry.ts';
export { videoContentTypeOf, type UploadFile, type UploadStream } from './upload/source.ts';
export {
  resumeUpload,
  newClientRequestId,
  uploadVideo,
  type CreatedJob,
  type ResumeUploadOptions,
  type TransferOptions,
  type UploadResult,
  type UploadVideoOptions,
} from './upload/upload-video.ts';
export { TRPCClientError } from '@trpc/client';
