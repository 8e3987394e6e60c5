import { MediaToolError } from './errors.ts';
import { qscale } from './jpeg-stream.ts';
import { resolveFfmpeg } from './resolve-ffmpeg.ts';
import { lastLine, runTool } from './run-tool.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** Packed RGB24, `width * height * 3` bytes. */
  data: Uint8Array;
}

export interface EncodeJpegOptions {
  /** 1 (smallest) to 100 (best), like most image tools. */
  quality: number;
  signal?: AbortSignal | undefined;
}

const ENCODE_TIMEOUT_MS = 30_000;

/** Encodes one RGB24 frame as a baseline JPEG with ffmpeg's mjpeg encoder. For a video's frames, `extractFrames` with `jpegQuality` encodes them in its own ffmpeg. */
export async function encodeJpeg(frame: RgbImage, options: EncodeJpegOptions): Promise<Buffer> {
  const { width, height, data } = frame;
  const { quality, signal } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Frame size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`Frame data has ${data.length} bytes; ${width}x${height} RGB24 needs ${width * height * 3}`);
  }
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`quality must be 1-100, got ${quality}`);

  const { ffmpegPath } = await resolveFfmpeg();
  const result = await runTool(
    'ffmpeg',
    ffmpegPath,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-video_size',
      `${width}x${height}`,
      '-i',
      'pipe:0',
      '-frames:v',
      '1',
      '-pix_fmt',
      'yuvj420p',
      '-q:v',
      String(qscale(quality)),
      '-f',
      'mjpeg',
      'pipe:1',
    ],
    { signal, timeoutMs: ENCODE_TIMEOUT_MS, input: data },
  );
  if (result.exitCode !== 0 || result.stdout.length === 0) {
    throw new MediaToolError('TOOL_FAILED', `Could not encode JPEG: ${lastLine(result.stderr) || 'no output'}`, {
      tool: 'ffmpeg',
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  return result.stdout;
}
