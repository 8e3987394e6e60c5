import type { ToolLimits } from './run-tool.ts';

/** What decoding one video may cost, checked by ffmpeg itself rather than trusted from the file. */
export interface MediaLimits extends ToolLimits {
  /** Largest width × height a decoder may allocate; a larger frame is refused before it is decoded. */
  maxFramePixels: number;
}

/**
 * Fits real phone video: 4K in 16:9 and 17:9 (4096×2160) either way up;
 * decoding that stays far below 2 GiB, and the children yield to the API.
 */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxFramePixels: 4096 * 2160,
  maxMemoryBytes: 2 * 1024 ** 3,
  niceness: 10,
};

/**
 * The only demuxers the worker opens (`mov` covers MP4, MOV and 3GP;
 * `matroska` covers WebM): the containers `sniffContainer` accepts.
 */
const VIDEO_DEMUXERS = 'mov,matroska';

/**
 * Input options for every ffmpeg/ffprobe run on an uploaded file: local files
 * only (no network, no `concat`/`subfile` tricks through other protocols), the
 * video demuxers only, and the decoder's own pixel cap.
 */
export function hardenedInputArgs(limits: MediaLimits): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', VIDEO_DEMUXERS, '-max_pixels', String(limits.maxFramePixels)];
}

/** ffmpeg's message when `-max_pixels` refused a frame (stable since ffmpeg 3.3). */
const MAX_PIXELS_MESSAGE = /Picture size (\d+)x(\d+) exceeds specified max pixel count/;

/** The refused frame size, when a decoder hit `maxFramePixels`. */
export function refusedFrameSize(stderr: string): { width: number; height: number } | undefined {
  const match = MAX_PIXELS_MESSAGE.exec(stderr);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}
