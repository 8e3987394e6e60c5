import type { MediaLimits, VideoProbe } from '@coach/media';

import { PermanentAnalysisError } from '../errors.ts';

/**
 * What one analysis may cost, checked against ffprobe's reading of the file
 * before any frame is decoded; the job deadline is sized from these
 * (`minimumJobSeconds` in settings.ts).
 */
export interface AnalysisCaps {
  /** Longest video analysed (`VIDEO_TOO_LONG`). */
  maxDurationSeconds: number;
  /** Highest source frame rate (`VIDEO_FRAME_RATE_TOO_HIGH`): 240 covers phones' slow motion. */
  maxSourceFps: number;
  /** Source frames ffmpeg must decode, duration × frame rate (`VIDEO_TOO_MANY_FRAMES`). */
  maxSourceFrames: number;
  /** Frames sampled and sent to pose estimation, duration × the job's fps (`TOO_MANY_FRAMES_TO_ANALYSE`). */
  maxAnalysedFrames: number;
  /** Per ffmpeg/ffprobe child: pixels per frame (`VIDEO_RESOLUTION_TOO_HIGH`), memory (`ANALYSIS_MEMORY_LIMIT`), priority. */
  media: MediaLimits;
}

/** Failure codes for a video over a cap: permanent, the same file fails the same way every time. */
export const CAP_FAILURE = {
  RESOLUTION: 'VIDEO_RESOLUTION_TOO_HIGH',
  FRAME_RATE: 'VIDEO_FRAME_RATE_TOO_HIGH',
  SOURCE_FRAMES: 'VIDEO_TOO_MANY_FRAMES',
  ANALYSED_FRAMES: 'TOO_MANY_FRAMES_TO_ANALYSE',
  MEMORY: 'ANALYSIS_MEMORY_LIMIT',
  TIME: 'ANALYSIS_TIME_LIMIT',
} as const;

/** The video's declared cost against the caps; throws the first cap it exceeds. */
export function checkCaps(probe: VideoProbe, sampleFps: number, caps: AnalysisCaps): void {
  const minutes = (seconds: number) => `${Math.round((seconds / 60) * 10) / 10} minutes`;
  if (probe.durationSeconds > caps.maxDurationSeconds) {
    throw new PermanentAnalysisError(
      'VIDEO_TOO_LONG',
      `The video is longer than ${minutes(caps.maxDurationSeconds)}, the longest we analyse. Trim it and upload again.`,
    );
  }
  if (probe.frameRate > caps.maxSourceFps) {
    throw new PermanentAnalysisError(
      CAP_FAILURE.FRAME_RATE,
      `The video was recorded at ${Math.round(probe.frameRate)} frames per second; we analyse up to ${caps.maxSourceFps}. ` +
        'Record at a normal or slow-motion frame rate and upload again.',
    );
  }
  const sourceFrames = Math.ceil(probe.durationSeconds * probe.frameRate);
  if (sourceFrames > caps.maxSourceFrames) {
    throw new PermanentAnalysisError(
      CAP_FAILURE.SOURCE_FRAMES,
      `The video has about ${sourceFrames} frames; we analyse videos of up to ${caps.maxSourceFrames}. ` +
        'Trim it, or record at a lower frame rate, and upload again.',
    );
  }
  const analysed = Math.ceil(probe.durationSeconds * sampleFps);
  if (analysed > caps.maxAnalysedFrames) {
    const longest = caps.maxAnalysedFrames / sampleFps;
    throw new PermanentAnalysisError(
      CAP_FAILURE.ANALYSED_FRAMES,
      `At ${sampleFps} frames per second this video needs ${analysed} frames analysed; the limit is ${caps.maxAnalysedFrames} ` +
        `(${minutes(longest)} at this rate). Trim it, or choose a lower analysis frame rate, and upload again.`,
    );
  }
}

/** For a frame the decoder refused (`FrameTooLargeError`). */
export function resolutionTooHigh(width: number, height: number, maxPixels: number): PermanentAnalysisError {
  return new PermanentAnalysisError(
    CAP_FAILURE.RESOLUTION,
    `The video's frames are ${width}×${height}, larger than we analyse (${maxPixels} pixels a frame). ` +
      'Record at a lower resolution, such as 4K or 1080p, and upload again.',
  );
}

export function memoryLimit(): PermanentAnalysisError {
  return new PermanentAnalysisError(
    CAP_FAILURE.MEMORY,
    'This video needs more memory to decode than we allow. Record at a standard resolution and upload again.',
  );
}

export function timeLimit(seconds: number): PermanentAnalysisError {
  return new PermanentAnalysisError(
    CAP_FAILURE.TIME,
    `Analysing this video took longer than ${Math.round(seconds / 60)} minutes, the most we allow. Trim it and upload again.`,
  );
}
