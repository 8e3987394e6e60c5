export { resolveFfmpeg, type FfmpegBinaries } from './resolve-ffmpeg.ts';
export { sniffContainer, SNIFF_BYTES, type ContainerKind } from './sniff-container.ts';
export { probeVideo, type ProbeOptions, type Rotation, type VideoProbe } from './probe-video.ts';
export { extractFrames, fitWithin, type ExtractFramesOptions, type VideoFrame } from './extract-frames.ts';
export { DEFAULT_MEDIA_LIMITS, type MediaLimits } from './limits.ts';
export type { ToolLimits } from './run-tool.ts';
export { FrameTooLargeError, MediaToolError, NotAVideoError, type MediaToolErrorCode, type NotAVideoCode } from './errors.ts';
