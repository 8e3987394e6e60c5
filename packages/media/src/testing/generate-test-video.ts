import { rename, rm } from 'node:fs/promises';

import { MediaToolError } from '../errors.ts';
import { probeVideo, type Rotation } from '../probe-video.ts';
import { resolveFfmpeg } from '../resolve-ffmpeg.ts';
import { lastLine, runTool } from '../run-tool.ts';

export interface GenerateTestVideoOptions {
  /** Output file; its extension should match `container`. */
  path: string;
  seconds: number;
  /** Stored frame width (even). A rotated video displays as `height`x`width`. */
  width: number;
  /** Stored frame height (even). */
  height: number;
  fps: number;
  /** Clockwise display rotation written into the container, like a phone held upright. mp4/mov only. */
  rotation?: Rotation | undefined;
  container: 'mp4' | 'mov' | 'webm';
  /**
   * Paints a white square into the stored frame's top-left corner, so a test
   * can check which way the rotation was applied (90 puts it top-right).
   */
  cornerMarker?: boolean | undefined;
  /**
   * `h264` (default) or `hevc`: 10-bit HEVC tagged `hvc1`, which is what
   * iPhones record by default. mp4/mov only.
   */
  codec?: 'h264' | 'hevc' | undefined;
  /** Adds a 440 Hz tone, as phone videos have sound. */
  withAudio?: boolean | undefined;
}

/** Generous for the few-second clips tests make; encoding runs far faster than real time. */
const GENERATE_TIMEOUT_MS = 120_000;

/**
 * Makes a synthetic video from ffmpeg's `testsrc2` pattern (moving, colourful,
 * so consecutive frames differ). H.264 (or HEVC) in mp4/mov, VP8 in webm.
 */
export async function generateTestVideo(options: GenerateTestVideoOptions): Promise<string> {
  const { path, seconds, width, height, fps, container, rotation = 0, codec = 'h264' } = options;
  const { cornerMarker = false, withAudio = false } = options;
  if (width % 2 !== 0 || height % 2 !== 0) throw new RangeError(`width and height must be even, got ${width}x${height}`);
  if (rotation !== 0 && container === 'webm') {
    throw new RangeError('WebM has no standard rotation field: use mp4 or mov for a rotated video');
  }
  if (codec === 'hevc' && container === 'webm') throw new RangeError('HEVC goes in mp4 or mov, not WebM');

  let source = `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`;
  if (cornerMarker) {
    const side = Math.max(2, Math.round(Math.min(width, height) / 5));
    source += `,drawbox=x=0:y=0:w=${side}:h=${side}:color=white:t=fill`;
  }
  const audioInput = withAudio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`] : [];
  const codecs =
    container === 'webm'
      ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', '-c:a', 'libopus']
      : codec === 'hevc'
        ? [
            '-c:v',
            'libx265',
            '-preset',
            'ultrafast',
            '-pix_fmt',
            'yuv420p10le',
            '-tag:v',
            'hvc1',
            '-x265-params',
            'log-level=error',
            '-c:a',
            'aac',
          ]
        : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  const encodedPath = rotation === 0 ? path : `${path}.unrotated.${container}`;
  await runFfmpeg(['-f', 'lavfi', '-i', source, ...audioInput, ...codecs, '-f', container, encodedPath]);
  if (rotation !== 0) {
    try {
      await setRotation(encodedPath, path, rotation, container);
    } finally {
      await rm(encodedPath, { force: true });
    }
  }
  return path;
}

/**
 * Writes the rotation by remuxing (no re-encode). How to say "rotate" differs
 * between ffmpeg versions: 6.1+ has `-display_rotation` (counter-clockwise);
 * older ones turn a `rotate` tag into the display matrix, and the 2018 static
 * build shipped on npm inverts that tag's direction. Each way is tried and the
 * result probed, so the file always ends up with the rotation asked for.
 */
async function setRotation(input: string, output: string, rotation: Rotation, format: string): Promise<void> {
  const counterClockwise = (360 - rotation) % 360;
  const attempts: string[][] = [
    ['-display_rotation:v:0', String(counterClockwise), '-i', input, '-c', 'copy'],
    ['-i', input, '-c', 'copy', '-metadata:s:v:0', `rotate=${counterClockwise}`],
    ['-i', input, '-c', 'copy', '-metadata:s:v:0', `rotate=${rotation}`],
  ];
  const tmp = `${output}.rotating.${format}`;
  const { ffmpegPath } = await resolveFfmpeg();
  try {
    for (const args of attempts) {
      const result = await runTool(
        'ffmpeg',
        ffmpegPath,
        ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args, '-f', format, tmp],
        {
          timeoutMs: GENERATE_TIMEOUT_MS,
        },
      );
      if (result.exitCode !== 0) continue;
      if ((await probeVideo(tmp)).rotation === rotation) {
        await rename(tmp, output);
        return;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
  throw new Error(`This ffmpeg could not write a ${rotation} degree rotation`);
}

/** A short AAC tone in an .m4a (brand `M4A `, as iTunes and phones write it): an audio-only file, for "no video stream" tests. */
export async function generateTestAudio(options: { path: string; seconds: number }): Promise<string> {
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${options.seconds}`,
    '-c:a',
    'aac',
    '-f',
    'ipod',
    options.path,
  ]);
  return options.path;
}

export async function runFfmpeg(args: readonly string[]): Promise<void> {
  const { ffmpegPath } = await resolveFfmpeg();
  const result = await runTool('ffmpeg', ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
    timeoutMs: GENERATE_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) {
    throw new MediaToolError('TOOL_FAILED', `ffmpeg failed: ${lastLine(result.stderr)}`, {
      tool: 'ffmpeg',
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
}
