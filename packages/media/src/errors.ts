/**
 * Why a file was rejected as a video. Part of the public interface: the
 * worker stores it on the job and the app maps it to copy for the coach.
 */
export type NotAVideoCode = 'NOT_A_VIDEO' | 'NO_VIDEO_STREAM' | 'UNREADABLE_VIDEO';

const COACH_MESSAGES: Record<NotAVideoCode, string> = {
  NOT_A_VIDEO: 'This file is not a video. Please upload a video recorded with your phone or camera.',
  NO_VIDEO_STREAM: 'This file has no picture, only sound. Please upload a video with the athlete in view.',
  UNREADABLE_VIDEO: 'This video could not be read. It may be damaged or only partly uploaded. Please try uploading it again.',
};

/**
 * The file is not a usable video. The message is written for a coach and
 * never contains tool output; what ffprobe said is kept in `details` (and the
 * underlying error, if any, in `cause`) for logs.
 */
export class NotAVideoError extends Error {
  override readonly name = 'NotAVideoError';
  readonly code: NotAVideoCode;
  /** Diagnostic text for logs (ffprobe's stderr, the detected format, ...). Not for end users. */
  readonly details: string | undefined;

  constructor(code: NotAVideoCode, options?: { details?: string; cause?: unknown }) {
    super(COACH_MESSAGES[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** `MEMORY_LIMIT`: the child failed on an allocation past its `maxMemoryBytes`. */
export type MediaToolErrorCode = 'FFMPEG_NOT_FOUND' | 'TOOL_FAILED' | 'TIMEOUT' | 'MEMORY_LIMIT';

/**
 * ffmpeg/ffprobe could not be found, could not be started, failed, or ran
 * past its time limit. The message is ours and safe to log; the tool's stderr
 * (last few KiB) is in `stderr`.
 */
export class MediaToolError extends Error {
  override readonly name = 'MediaToolError';
  readonly code: MediaToolErrorCode;
  readonly tool: 'ffmpeg' | 'ffprobe';
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: MediaToolErrorCode,
    message: string,
    info: { tool: 'ffmpeg' | 'ffprobe'; exitCode?: number | null; stderr?: string; cause?: unknown },
  ) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.code = code;
    this.tool = info.tool;
    this.exitCode = info.exitCode ?? null;
    this.stderr = info.stderr ?? '';
  }
}

/**
 * The video's frames are larger than `MediaLimits.maxFramePixels`. Found by
 * ffprobe (the stored size, or the decoder refusing to allocate the frame)
 * before anything is decoded.
 */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  readonly width: number;
  readonly height: number;
  readonly maxPixels: number;

  constructor(width: number, height: number, maxPixels: number) {
    super(`frames of ${width}x${height} exceed the limit of ${maxPixels} pixels`);
    this.width = width;
    this.height = height;
    this.maxPixels = maxPixels;
  }
}
