import { jobFailure } from '@coach/jobs';
import type { MediaLimits, VideoProbe } from '@coach/media';

import { PermanentAnalysisError } from '../errors.ts';

// The failure codes and messages of each cap: `CAP_FAILURE` and `jobFailure` in @coach/jobs.

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

/** The video's declared cost against the caps; throws the first cap it exceeds. */
export function checkCaps(probe: VideoProbe, sampleFps: number, caps: AnalysisCaps): void {
  if (probe.durationSeconds > caps.maxDurationSeconds) {
    throw PermanentAnalysisError.of(jobFailure.tooLong(caps.maxDurationSeconds));
  }
  if (probe.frameRate > caps.maxSourceFps) {
    throw PermanentAnalysisError.of(jobFailure.frameRateTooHigh(probe.frameRate, caps.maxSourceFps));
  }
  const sourceFrames = Math.ceil(probe.durationSeconds * probe.frameRate);
  if (sourceFrames > caps.maxSourceFrames) {
    throw PermanentAnalysisError.of(jobFailure.tooManySourceFrames(sourceFrames, caps.maxSourceFrames));
  }
  const analysed = Math.ceil(probe.durationSeconds * sampleFps);
  if (analysed > caps.maxAnalysedFrames) {
    throw PermanentAnalysisError.of(jobFailure.tooManyFramesToAnalyse(sampleFps, analysed, caps.maxAnalysedFrames));
  }
}
