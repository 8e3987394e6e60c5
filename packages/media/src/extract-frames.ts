import type { Readable } from 'node:stream';

import { FrameTooLargeError, MediaToolError } from './errors.ts';
import { JpegSplitter, qscale } from './jpeg-stream.ts';
import { DEFAULT_MEDIA_LIMITS, hardenedInputArgs, refusedFrameSize, type MediaLimits } from './limits.ts';
import { probeVideo, type VideoProbe } from './probe-video.ts';
import { resolveFfmpeg } from './resolve-ffmpeg.ts';
import { lastLine, ranOutOfMemory, startTool } from './run-tool.ts';

/** One decoded frame: packed RGB24, rows top to bottom, no padding. */
export interface VideoFrame {
  /** 0-based position in the extracted sequence. */
  index: number;
  /** Nominal time of the frame in the video: `index / fps`. */
  timestampSeconds: number;
  width: number;
  height: number;
  /** `width * height * 3` bytes, owned by the caller (never reused for a later frame). */
  data: Uint8Array;
  /** This frame as a baseline JPEG, when `jpegQuality` was given: encoded by the same ffmpeg from these very pixels. */
  jpeg?: Buffer | undefined;
}

export interface ExtractFramesOptions {
  /** Frames per second to sample; ffmpeg's `fps` filter drops or repeats frames to hit it. */
  fps: number;
  /** Longest side of the output, in pixels. Smaller videos are never upscaled. */
  maxDimension?: number | undefined;
  /** Aborting kills ffmpeg; the iteration then throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** A probe of this file made earlier, to skip probing it again. */
  probe?: VideoProbe | undefined;
  /** Caps on ffmpeg's memory, priority and decoded frame size; `DEFAULT_MEDIA_LIMITS` when omitted. */
  limits?: MediaLimits | undefined;
  /**
   * Also encode every frame as a JPEG of this quality (1 smallest to 100 best), in the same
   * ffmpeg, from the same RGB pixels: each frame then carries `jpeg`. One decode and no second
   * process or copy of the frames, where a separate encoder was fed every frame through a pipe.
   */
  jpegQuality?: number | undefined;
}

/**
 * Streams a video's frames, upright (ffmpeg applies the display rotation by
 * default) and scaled to fit `maxDimension`. Frames are cut from ffmpeg's
 * stdout as they arrive, and the pipe's back-pressure pauses ffmpeg while the
 * consumer is busy, so memory stays flat however long the video is.
 *
 * Leaving the loop early (`break`, `return`, a throw) or aborting kills
 * ffmpeg and waits for it to exit. An ffmpeg failure throws `MediaToolError`.
 * Nothing starts until the first frame is requested.
 */
export async function* extractFrames(filePath: string, options: ExtractFramesOptions): AsyncGenerator<VideoFrame> {
  const { fps, maxDimension = 640, signal, limits = DEFAULT_MEDIA_LIMITS, jpegQuality } = options;
  if (!(Number.isFinite(fps) && fps > 0)) throw new RangeError(`fps must be a positive number, got ${fps}`);
  if (jpegQuality !== undefined && !(jpegQuality >= 1 && jpegQuality <= 100)) {
    throw new RangeError(`jpegQuality must be 1-100, got ${jpegQuality}`);
  }
  if (!(Number.isInteger(maxDimension) && maxDimension >= 2)) {
    throw new RangeError(`maxDimension must be an integer of at least 2, got ${maxDimension}`);
  }
  signal?.throwIfAborted();

  const probe = options.probe ?? (await probeVideo(filePath, { signal, limits }));
  const { width, height } = fitWithin(probe.displayWidth, probe.displayHeight, maxDimension);
  const frameBytes = width * height * 3;
  const { ffmpegPath } = await resolveFfmpeg();
  signal?.throwIfAborted();

  // An explicit output size (not `-2`) so the byte count per frame is known
  // exactly; setsar=1 because the size already accounts for non-square pixels.
  const filter = `fps=${fps},scale=${width}:${height}:flags=area,setsar=1`;
  const rawOutput = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const outputs =
    jpegQuality === undefined
      ? ['-map', `0:${probe.videoStreamIndex}`, '-an', '-sn', '-dn', '-vf', filter, ...rawOutput]
      : [
          // Split after the conversion to RGB, so the pose frames are the very bytes of the
          // single-output command and each JPEG is encoded from what the pose model saw.
          '-filter_complex',
          `[0:${probe.videoStreamIndex}]${filter},format=rgb24,split=2[pose][jpeg]`,
          '-map',
          '[pose]',
          ...rawOutput,
          '-map',
          '[jpeg]',
          '-pix_fmt',
          'yuvj420p',
          '-q:v',
          String(qscale(jpegQuality)),
          // One encoder thread: each JPEG follows its frame's pixels, instead of several frames later.
          '-threads',
          '1',
          // Each JPEG written out at once, not held in the muxer's buffer until the next.
          '-flush_packets',
          '1',
          '-f',
          'mjpeg',
          'pipe:3',
        ];
  const proc = startTool(
    'ffmpeg',
    ffmpegPath,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', ...hardenedInputArgs(limits), '-i', filePath, ...outputs],
    limits,
    { extraOutput: jpegQuality !== undefined },
  );
  proc.stdin.end();
  const onAbort = () => void proc.kill();
  signal?.addEventListener('abort', onAbort, { once: true });

  const jpegs = proc.extraOutput ? jpegQueue(proc.extraOutput) : undefined;
  /** Whole frames waiting for their JPEG: ffmpeg may write a frame's pixels before its JPEG. */
  const waiting: VideoFrame[] = [];
  /** The frame with its JPEG; undefined when ffmpeg closed the JPEG pipe first (its exit status says why). */
  const withJpeg = async (frame: VideoFrame): Promise<VideoFrame | undefined> => {
    if (!jpegs) return frame;
    const jpeg = await jpegs.next();
    return jpeg === undefined ? undefined : { ...frame, jpeg };
  };
  let missingJpeg: number | undefined;
  try {
    let index = 0;
    let frame = new Uint8Array(frameBytes);
    let filled = 0;
    for await (const chunk of readChunks(proc.stdout, signal)) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          waiting.push({ index, timestampSeconds: index / fps, width, height, data: frame });
          index++;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
      // Never wait on a JPEG while pixels are unread: ffmpeg may be blocked writing them.
      while (missingJpeg === undefined && waiting.length > 0 && (!jpegs || jpegs.hasNext())) {
        const next = waiting.shift();
        const whole = next && (await withJpeg(next));
        if (whole) yield whole;
        else missingJpeg ??= next?.index;
      }
      if (waiting.length > MAX_FRAMES_AHEAD_OF_JPEGS) {
        throw new MediaToolError('TOOL_FAILED', `ffmpeg wrote ${waiting.length} frames ahead of their JPEGs`, {
          tool: 'ffmpeg',
          stderr: proc.stderrTail(),
        });
      }
    }
    // The pixels are all read: whatever JPEGs are left come before ffmpeg ends.
    for (const next of waiting.splice(0)) {
      if (missingJpeg !== undefined) break;
      const whole = await withJpeg(next);
      if (whole) yield whole;
      else missingJpeg = next.index;
    }

    const exit = await proc.exited;
    signal?.throwIfAborted();
    const stderr = proc.stderrTail();
    const spawnError = proc.spawnError();
    if (spawnError !== undefined) {
      throw new MediaToolError('TOOL_FAILED', 'ffmpeg could not be started', { tool: 'ffmpeg', stderr, cause: spawnError });
    }
    const refused = exit.exitCode === 0 ? undefined : refusedFrameSize(stderr);
    if (refused !== undefined) throw new FrameTooLargeError(refused.width, refused.height, limits.maxFramePixels);
    if (exit.exitCode !== 0 && ranOutOfMemory(exit, stderr)) {
      throw new MediaToolError('MEMORY_LIMIT', `ffmpeg ran out of its ${limits.maxMemoryBytes} bytes of memory`, {
        tool: 'ffmpeg',
        exitCode: exit.exitCode,
        stderr,
      });
    }
    if (exit.exitCode !== 0) {
      const reason = lastLine(stderr);
      throw new MediaToolError(
        'TOOL_FAILED',
        `Could not extract frames: ffmpeg exited with ${exit.exitCode ?? exit.signal}${reason === '' ? '' : ` (${reason})`}`,
        { tool: 'ffmpeg', exitCode: exit.exitCode, stderr },
      );
    }
    if (missingJpeg !== undefined || (jpegs && (await jpegs.next()) !== undefined)) {
      const problem = missingJpeg === undefined ? 'more JPEGs than frames' : `no JPEG for frame ${missingJpeg}`;
      throw new MediaToolError('TOOL_FAILED', `ffmpeg wrote ${problem}`, { tool: 'ffmpeg', stderr });
    }
    if (filled !== 0) {
      throw new MediaToolError('TOOL_FAILED', `ffmpeg ended in the middle of a ${width}x${height} frame`, {
        tool: 'ffmpeg',
        stderr,
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await proc.kill();
  }
}

/** ffmpeg writes a frame's JPEG right after its pixels (one encoder thread): more frames ahead means something is wrong. */
const MAX_FRAMES_AHEAD_OF_JPEGS = 16;

/**
 * The JPEGs ffmpeg writes back to back on `output`, cut apart as they arrive and handed out in
 * order. The pipe is always read (never paused), so ffmpeg cannot block on it while the raw
 * frames wait to be consumed; it holds at most the frames ffmpeg is ahead by.
 */
function jpegQueue(output: Readable) {
  const splitter = new JpegSplitter();
  const ready: Buffer[] = [];
  let isEnded = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  output.on('data', (chunk: Buffer) => {
    try {
      ready.push(...splitter.push(chunk));
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      output.destroy();
    }
    notify();
  });
  output.on('error', (error) => {
    failure ??= error;
    notify();
  });
  output.on('close', () => {
    isEnded = true;
    notify();
  });
  return {
    /** Whether `next()` would answer at once. */
    hasNext: () => ready.length > 0 || failure !== undefined || isEnded,
    /** The next JPEG; undefined once ffmpeg closed the pipe with none left. */
    async next(): Promise<Buffer | undefined> {
      for (;;) {
        const jpeg = ready.shift();
        if (jpeg) return jpeg;
        if (failure)
          throw new MediaToolError('TOOL_FAILED', `Could not read ffmpeg's JPEGs: ${failure.message}`, { tool: 'ffmpeg' });
        if (isEnded) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/** The pipe's chunks; once aborted, the abort reason instead of the "premature close" that killing causes. */
async function* readChunks(stdout: Readable, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stdout as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  }
}

/**
 * The output size for a `width`x`height` picture: aspect ratio kept, longest
 * side at most `maxDimension`, never larger than the source, both sides even
 * (what most encoders and pose models downstream expect).
 */
export function fitWithin(width: number, height: number, maxDimension: number): { width: number; height: number } {
  const scale = Math.min(1, maxDimension / Math.max(width, height));
  const even = (size: number, limit: number) =>
    Math.max(2, Math.min(2 * Math.round((size * scale) / 2), 2 * Math.floor(limit / 2)));
  return { width: even(width, Math.min(width, maxDimension)), height: even(height, Math.min(height, maxDimension)) };
}
