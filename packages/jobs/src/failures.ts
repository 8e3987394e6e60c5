/**
 * Every code a job's `errorCode` can hold, with the message the coach reads
 * beside it. Part of the public interface (`jobs.get`, `jobs.watch`): clients
 * branch on the code, never on the message. The status a code ends the job in
 * is in the comment of its group.
 */

/** `rejected` by upload.complete: the stored object is not what was declared. */
export const UPLOAD_REJECTION = {
  EMPTY_UPLOAD: 'EMPTY_UPLOAD',
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  CONTENT_TYPE_MISMATCH: 'CONTENT_TYPE_MISMATCH',
} as const;

/** `expired` (by the sweeper) or `aborted` (upload.abort): the upload closed without a video. */
export const UPLOAD_CLOSURE = {
  UPLOAD_EXPIRED: 'UPLOAD_EXPIRED',
  UPLOAD_ABORTED: 'UPLOAD_ABORTED',
} as const;

/** `failed` by the worker or the sweeper: the job, not the video, went wrong. */
export const WORKER_FAILURE = {
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  RETRIES_EXHAUSTED: 'ANALYSIS_RETRIES_EXHAUSTED',
} as const;

/** `failed` for good: the video itself cannot be analysed, and a retry would fail the same way. */
export const VIDEO_FAILURE = {
  /** The object changed after upload.complete checked it (its ETag no longer matches). */
  VIDEO_CHANGED: 'VIDEO_CHANGED',
  VIDEO_MISSING: 'VIDEO_MISSING',
  /** The first bytes are no video container; also `@coach/media`'s `NotAVideoCode`s. */
  NOT_A_VIDEO: 'NOT_A_VIDEO',
  NO_VIDEO_STREAM: 'NO_VIDEO_STREAM',
  UNREADABLE_VIDEO: 'UNREADABLE_VIDEO',
  NO_PERSON_FOUND: 'NO_PERSON_FOUND',
} as const;

/** `failed` for good: the video is over one of the worker's caps (`AnalysisCaps`). */
export const CAP_FAILURE = {
  DURATION: 'VIDEO_TOO_LONG',
  RESOLUTION: 'VIDEO_RESOLUTION_TOO_HIGH',
  FRAME_RATE: 'VIDEO_FRAME_RATE_TOO_HIGH',
  SOURCE_FRAMES: 'VIDEO_TOO_MANY_FRAMES',
  ANALYSED_FRAMES: 'TOO_MANY_FRAMES_TO_ANALYSE',
  MEMORY: 'ANALYSIS_MEMORY_LIMIT',
  TIME: 'ANALYSIS_TIME_LIMIT',
} as const;

type ValueOf<T> = T[keyof T];
export type UploadRejectionCode = ValueOf<typeof UPLOAD_REJECTION>;
export type JobFailureCode =
  | UploadRejectionCode
  | ValueOf<typeof UPLOAD_CLOSURE>
  | ValueOf<typeof WORKER_FAILURE>
  | ValueOf<typeof VIDEO_FAILURE>
  | ValueOf<typeof CAP_FAILURE>;

/** Every job failure code, for documentation checks and exhaustive handling. */
export const JOB_FAILURE_CODES: readonly JobFailureCode[] = [
  ...Object.values(UPLOAD_REJECTION),
  ...Object.values(UPLOAD_CLOSURE),
  ...Object.values(WORKER_FAILURE),
  ...Object.values(VIDEO_FAILURE),
  ...Object.values(CAP_FAILURE),
];

/** A code and its message, as written on the job (`errorCode`, `errorMessage`). */
export interface JobFailure<TCode extends JobFailureCode = JobFailureCode> {
  code: TCode;
  message: string;
}

const minutes = (seconds: number) => `${Math.round((seconds / 60) * 10) / 10} minutes`;

/** The message of each failure; those with figures take them as arguments. */
export const jobFailure = {
  emptyUpload: () => failure(UPLOAD_REJECTION.EMPTY_UPLOAD, 'The uploaded file is empty.'),
  fileTooLarge: (limit: string) =>
    failure(UPLOAD_REJECTION.FILE_TOO_LARGE, `The uploaded file is larger than the ${limit} limit.`),
  sizeMismatch: (storedBytes: number, declaredBytes: number) =>
    failure(
      UPLOAD_REJECTION.SIZE_MISMATCH,
      `The uploaded file is ${storedBytes} bytes, but ${declaredBytes} bytes were declared.`,
    ),
  contentTypeMismatch: (storedType: string | undefined, declaredType: string) =>
    failure(
      UPLOAD_REJECTION.CONTENT_TYPE_MISMATCH,
      `The file was uploaded as ${storedType ?? 'an unknown type'}, but ${declaredType} was declared.`,
    ),
  uploadExpired: () =>
    failure(UPLOAD_CLOSURE.UPLOAD_EXPIRED, 'The upload link expired before the video arrived. Start a new upload.'),
  uploadAborted: () => failure(UPLOAD_CLOSURE.UPLOAD_ABORTED, 'The upload was cancelled.'),
  invalidMessage: () =>
    failure(WORKER_FAILURE.INVALID_MESSAGE, 'The analysis request was malformed. Please upload the video again.'),
  retriesExhausted: (attempts: number) =>
    failure(
      WORKER_FAILURE.RETRIES_EXHAUSTED,
      `We could not analyse this video after ${attempts} attempts. Please try uploading it again later.`,
    ),
  videoChanged: () =>
    failure(
      VIDEO_FAILURE.VIDEO_CHANGED,
      'The stored video changed after its upload was confirmed, so it was not analysed. Please upload it again.',
    ),
  videoMissing: () => failure(VIDEO_FAILURE.VIDEO_MISSING, 'The uploaded video is no longer in storage. Please upload it again.'),
  notAVideo: () =>
    failure(VIDEO_FAILURE.NOT_A_VIDEO, 'This file is not a video we can read. Upload an MP4, MOV, WebM or 3GP video.'),
  noFrames: () => failure(VIDEO_FAILURE.UNREADABLE_VIDEO, 'No frames could be read from this video. Please upload it again.'),
  noPersonFound: () =>
    failure(
      VIDEO_FAILURE.NO_PERSON_FOUND,
      'We could not find a person in this video. Film the player from head to toe in good light and upload again.',
    ),
  tooLong: (maxSeconds: number) =>
    failure(
      CAP_FAILURE.DURATION,
      `The video is longer than ${minutes(maxSeconds)}, the longest we analyse. Trim it and upload again.`,
    ),
  frameRateTooHigh: (frameRate: number, maxFps: number) =>
    failure(
      CAP_FAILURE.FRAME_RATE,
      `The video was recorded at ${Math.round(frameRate)} frames per second; we analyse up to ${maxFps}. ` +
        'Record at a normal or slow-motion frame rate and upload again.',
    ),
  tooManySourceFrames: (frames: number, maxFrames: number) =>
    failure(
      CAP_FAILURE.SOURCE_FRAMES,
      `The video has about ${frames} frames; we analyse videos of up to ${maxFrames}. ` +
        'Trim it, or record at a lower frame rate, and upload again.',
    ),
  tooManyFramesToAnalyse: (sampleFps: number, frames: number, maxFrames: number) =>
    failure(
      CAP_FAILURE.ANALYSED_FRAMES,
      `At ${sampleFps} frames per second this video needs ${frames} frames analysed; the limit is ${maxFrames} ` +
        `(${minutes(maxFrames / sampleFps)} at this rate). Trim it, or choose a lower analysis frame rate, and upload again.`,
    ),
  resolutionTooHigh: (width: number, height: number, maxPixels: number) =>
    failure(
      CAP_FAILURE.RESOLUTION,
      `The video's frames are ${width}×${height}, larger than we analyse (${maxPixels} pixels a frame). ` +
        'Record at a lower resolution, such as 4K or 1080p, and upload again.',
    ),
  memoryLimit: () =>
    failure(
      CAP_FAILURE.MEMORY,
      'This video needs more memory to decode than we allow. Record at a standard resolution and upload again.',
    ),
  timeLimit: (seconds: number) =>
    failure(
      CAP_FAILURE.TIME,
      `Analysing this video took longer than ${Math.round(seconds / 60)} minutes, the most we allow. Trim it and upload again.`,
    ),
} as const;

function failure<TCode extends JobFailureCode>(code: TCode, message: string): JobFailure<TCode> {
  return { code, message };
}

/** The columns a failure writes on its job. */
export function failureColumns(failure: JobFailure, finishedAt: Date) {
  return { errorCode: failure.code, errorMessage: failure.message, finishedAt };
}
