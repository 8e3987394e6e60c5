import { open, stat, type FileHandle } from 'node:fs/promises';

import { findTruncation } from './container-integrity.ts';
import { FrameTooLargeError, MediaToolError, NotAVideoError } from './errors.ts';
import { DEFAULT_MEDIA_LIMITS, hardenedInputArgs, refusedFrameSize, type MediaLimits } from './limits.ts';
import { resolveFfmpeg } from './resolve-ffmpeg.ts';
import { ranOutOfMemory, runTool } from './run-tool.ts';
import { SNIFF_BYTES, sniffContainer } from './sniff-container.ts';

/** Clockwise degrees a player turns the stored picture for display (the MP4 `rotate` tag convention). */
export type Rotation = 0 | 90 | 180 | 270;

export interface VideoProbe {
  durationSeconds: number;
  /** Stored (coded) frame width, before rotation. */
  width: number;
  /** Stored (coded) frame height, before rotation. */
  height: number;
  rotation: Rotation;
  /** Width as shown to a viewer: after rotation and non-square pixels. This is what `extractFrames` scales from. */
  displayWidth: number;
  displayHeight: number;
  /** ffprobe codec name, e.g. `h264`, `hevc`, `vp8`. */
  codec: string;
  /** Average frames per second (0 if the file does not say). */
  frameRate: number;
  /** Always true: a file without a video stream throws `NO_VIDEO_STREAM`. Kept so a stored probe reads plainly. */
  hasVideo: true;
  hasAudio: boolean;
  /** ffprobe's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`; for logs. */
  formatName: string;
  /** Index of the probed video stream in the file, so decoding picks the same one. */
  videoStreamIndex: number;
}

export interface ProbeOptions {
  signal?: AbortSignal | undefined;
  /** ffprobe reads headers only, so this is generous; it guards against pathological files. */
  timeoutMs?: number | undefined;
  /** Caps on ffprobe's memory and on the frame size it may decode; `DEFAULT_MEDIA_LIMITS` when omitted. */
  limits?: MediaLimits | undefined;
}

const DEFAULT_PROBE_TIMEOUT_MS = 20_000;

/**
 * Demuxers ffprobe happily opens that are not videos: still images (a JPEG
 * shows up as a one-frame "video" stream), GIFs, and text (the `tty` demuxer).
 */
const NOT_VIDEO_FORMATS = /^(image2|tty|gif|apng|webp|.+_pipe)$/;

/** The subset of `ffprobe -print_format json -show_streams -show_format` that is read. */
interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

/**
 * Reads a video's duration, size, rotation and codec with ffprobe and checks
 * that it is a video at all. Throws `NotAVideoError` for photos, documents,
 * audio-only files and damaged or cut-off uploads. A missing file fails with
 * the usual `ENOENT`, and a path that is not a regular file with a plain
 * `Error`: those are the caller's bugs, not the coach's. Frames larger than
 * `limits.maxFramePixels` throw `FrameTooLargeError` (never decoded); ffprobe
 * running out of `limits.maxMemoryBytes` throws `MediaToolError('MEMORY_LIMIT')`.
 */
export async function probeVideo(filePath: string, options: ProbeOptions = {}): Promise<VideoProbe> {
  const { signal, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS, limits = DEFAULT_MEDIA_LIMITS } = options;
  // A FIFO or device would block the open below (and ffprobe) forever.
  if (!(await stat(filePath)).isFile()) throw new Error(`Not a regular file: ${filePath}`);
  const file = await open(filePath, 'r');
  try {
    return await probeOpenFile(filePath, file, { signal, timeoutMs, limits });
  } finally {
    await file.close();
  }
}

interface ProbeRun {
  signal: AbortSignal | undefined;
  timeoutMs: number;
  limits: MediaLimits;
}

async function probeOpenFile(filePath: string, file: FileHandle, run: ProbeRun): Promise<VideoProbe> {
  const { signal, timeoutMs, limits } = run;
  const container = sniffContainer(await readHead(file, SNIFF_BYTES));
  const { ffprobePath } = await resolveFfmpeg();
  const result = await runTool(
    'ffprobe',
    ffprobePath,
    ['-v', 'error', ...hardenedInputArgs(limits), '-print_format', 'json', '-show_streams', '-show_format', filePath],
    { signal, timeoutMs, maxStdoutBytes: 16 * 1024 * 1024, limits },
  );

  // Checked before the exit status: the decoder refusing a huge frame is not a broken file.
  const refused = refusedFrameSize(result.stderr);
  if (refused !== undefined) throw new FrameTooLargeError(refused.width, refused.height, limits.maxFramePixels);
  if (result.exitCode !== 0 && ranOutOfMemory(result, result.stderr)) {
    throw new MediaToolError('MEMORY_LIMIT', `ffprobe ran out of its ${limits.maxMemoryBytes} bytes of memory`, {
      tool: 'ffprobe',
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  if (result.exitCode !== 0) {
    // ffprobe says only "Invalid data found" or "moov atom not found"; whether
    // the file looked like a video container tells a photo from a broken upload.
    throw new NotAVideoError(container === undefined ? 'NOT_A_VIDEO' : 'UNREADABLE_VIDEO', {
      details: `ffprobe exit ${result.exitCode ?? result.signal}: ${result.stderr.trim()}`,
    });
  }

  const output = parseFfprobeJson(result.stdout);
  const formatName = output.format?.format_name ?? '';
  if (NOT_VIDEO_FORMATS.test(formatName)) {
    throw new NotAVideoError('NOT_A_VIDEO', { details: `ffprobe format: ${formatName}` });
  }

  const streams = output.streams ?? [];
  // Cover art in audio files is a one-frame "video" stream flagged as an attached picture.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (video === undefined) {
    const types = streams.map((s) => s.codec_type ?? '?').join(',');
    throw new NotAVideoError('NO_VIDEO_STREAM', { details: `format ${formatName}, streams [${types}]` });
  }

  const { width, height } = video;
  if (width === undefined || height === undefined || width <= 0 || height <= 0 || video.index === undefined) {
    throw new NotAVideoError('UNREADABLE_VIDEO', {
      details: `video stream without dimensions (format ${formatName}, codec ${video.codec_name ?? '?'})`,
    });
  }
  // Not every decoder applies -max_pixels; the stored size is checked as well.
  if (width * height > limits.maxFramePixels) throw new FrameTooLargeError(width, height, limits.maxFramePixels);

  let durationSeconds = positiveNumber(output.format?.duration) ?? positiveNumber(video.duration);
  // Browser recordings (MediaRecorder WebM) carry no duration in their header:
  // fall back to the last packet's timestamp, which reads the whole file.
  durationSeconds ??= await durationFromPackets(ffprobePath, filePath, video.index, run);
  if (durationSeconds === undefined) {
    throw new NotAVideoError('UNREADABLE_VIDEO', { details: `no duration and no timed packets (format ${formatName})` });
  }

  const truncation = container === undefined ? undefined : await findTruncation(file, container);
  if (truncation !== undefined) {
    throw new NotAVideoError('UNREADABLE_VIDEO', { details: `incomplete ${container} file: ${truncation}` });
  }

  const rotation = readRotation(video);
  const sampleAspect = parseRatio(video.sample_aspect_ratio) || 1;
  const shownWidth = Math.round(width * sampleAspect);
  const isSideways = rotation === 90 || rotation === 270;

  return {
    durationSeconds,
    width,
    height,
    rotation,
    displayWidth: isSideways ? height : shownWidth,
    displayHeight: isSideways ? shownWidth : height,
    codec: video.codec_name ?? 'unknown',
    frameRate: parseRatio(video.avg_frame_rate) || parseRatio(video.r_frame_rate),
    hasVideo: true,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    formatName,
    videoStreamIndex: video.index,
  };
}

function parseFfprobeJson(stdout: Buffer): FfprobeOutput {
  try {
    const parsed: unknown = JSON.parse(stdout.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    // Every field of the shape is optional and checked where it is read.
    return parsed as FfprobeOutput;
  } catch (error) {
    throw new MediaToolError('TOOL_FAILED', 'ffprobe printed output that is not JSON', { tool: 'ffprobe', cause: error });
  }
}

/**
 * ffprobe 5+ reports the display matrix as side data with a counter-clockwise
 * `rotation`; older versions (and some files) give only the clockwise
 * `rotate` tag. Both end up as clockwise quarter turns.
 */
export function readRotation(stream: Pick<FfprobeStream, 'side_data_list' | 'tags'>): Rotation {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix');
  if (typeof matrix?.rotation === 'number') return toQuarterTurn(-matrix.rotation);
  const tag = Number(stream.tags?.rotate);
  return Number.isFinite(tag) ? toQuarterTurn(tag) : 0;
}

function toQuarterTurn(clockwiseDegrees: number): Rotation {
  const turns = ((Math.round(clockwiseDegrees / 90) % 4) + 4) % 4;
  return ([0, 90, 180, 270] as const)[turns] ?? 0;
}

async function durationFromPackets(
  ffprobePath: string,
  filePath: string,
  streamIndex: number,
  run: ProbeRun,
): Promise<number | undefined> {
  const { signal, timeoutMs, limits } = run;
  const result = await runTool(
    'ffprobe',
    ffprobePath,
    [
      '-v',
      'error',
      ...hardenedInputArgs(limits),
      '-select_streams',
      String(streamIndex),
      '-show_entries',
      'packet=pts_time,duration_time',
      '-of',
      'csv=p=0',
      filePath,
    ],
    { signal, timeoutMs, limits, maxStdoutBytes: 64 * 1024 * 1024 },
  );
  if (result.exitCode !== 0) return undefined;
  let end = 0;
  for (const line of result.stdout.toString('utf8').split('\n')) {
    const [pts, duration] = line.split(',').map(Number);
    if (pts !== undefined && Number.isFinite(pts)) end = Math.max(end, pts + (Number.isFinite(duration) ? (duration ?? 0) : 0));
  }
  return end > 0 ? end : undefined;
}

function positiveNumber(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Parses ffprobe's `30000/1001` or `1:1` forms; 0 for `0/0`, `N/A` or missing. */
function parseRatio(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)[/:](\d+(?:\.\d+)?)$/.exec(text ?? '');
  if (match === null) return 0;
  const value = Number(match[1]) / Number(match[2]);
  return Number.isFinite(value) ? value : 0;
}

async function readHead(file: FileHandle, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const { bytesRead } = await file.read(buffer, 0, length, 0);
  return buffer.subarray(0, bytesRead);
}
