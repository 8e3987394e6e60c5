import { setTimeout as sleep } from 'node:timers/promises';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  extractFrames,
  fitWithin,
  MediaToolError,
  NotAVideoError,
  probeVideo,
  resolveFfmpeg,
  type VideoFrame,
} from '../src/index.ts';
import { runTool } from '../src/run-tool.ts';
import { runFfmpeg } from '../src/testing/generate-test-video.ts';
import { generateTestVideo } from '../src/testing/index.ts';
import { childPids, isRunning, waitFor } from './helpers/processes.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();

beforeAll(async () => {
  await Promise.all([
    generateTestVideo({ path: dir.path('clip.mp4'), container: 'mp4', seconds: 2, width: 320, height: 240, fps: 15 }),
    generateTestVideo({ path: dir.path('clip.webm'), container: 'webm', seconds: 1, width: 320, height: 240, fps: 15 }),
    generateTestVideo({
      path: dir.path('portrait.mov'),
      container: 'mov',
      seconds: 1,
      width: 320,
      height: 180,
      fps: 15,
      rotation: 90,
      cornerMarker: true,
    }),
    generateTestVideo({
      path: dir.path('iphone.mov'),
      container: 'mov',
      codec: 'hevc',
      seconds: 1,
      width: 320,
      height: 240,
      fps: 15,
      rotation: 90,
      withAudio: true,
    }),
    // Long enough that ffmpeg is still busy when the tests stop early.
    generateTestVideo({ path: dir.path('long.mp4'), container: 'mp4', seconds: 20, width: 160, height: 120, fps: 30 }),
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', dir.path('photo.jpg')]),
  ]);
});

async function collect(frames: AsyncIterable<VideoFrame>): Promise<VideoFrame[]> {
  const all: VideoFrame[] = [];
  for await (const frame of frames) all.push(frame);
  return all;
}

/** Mean absolute difference per byte: 0 for identical pictures. */
function difference(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

function isWhite(frame: VideoFrame, x: number, y: number): boolean {
  const at = (y * frame.width + x) * 3;
  return [0, 1, 2].every((c) => (frame.data[at + c] ?? 0) > 240);
}

describe('extractFrames', () => {
  it('gives about seconds * fps frames of the right size, each different', async () => {
    const frames = await collect(extractFrames(dir.path('clip.mp4'), { fps: 5 }));
    expect(frames.length).toBeGreaterThanOrEqual(9);
    expect(frames.length).toBeLessThanOrEqual(11);
    frames.forEach((frame, i) => {
      expect(frame).toMatchObject({ index: i, width: 320, height: 240 });
      expect(frame.timestampSeconds).toBeCloseTo(i / 5, 6);
      expect(frame.data).toHaveLength(320 * 240 * 3);
    });
    for (let i = 1; i < frames.length; i++) {
      expect(difference(frames[i - 1]?.data ?? new Uint8Array(), frames[i]?.data ?? new Uint8Array())).toBeGreaterThan(1);
    }
  });

  it('scales down to maxDimension keeping the aspect ratio, and never up', async () => {
    const small = await collect(extractFrames(dir.path('clip.mp4'), { fps: 2, maxDimension: 160 }));
    expect(small[0]).toMatchObject({ width: 160, height: 120 });
    const large = await collect(extractFrames(dir.path('clip.mp4'), { fps: 2, maxDimension: 1920 }));
    expect(large[0]).toMatchObject({ width: 320, height: 240 });
  });

  it('reads WebM', async () => {
    const frames = await collect(extractFrames(dir.path('clip.webm'), { fps: 10 }));
    expect(frames.length).toBeGreaterThanOrEqual(9);
    expect(frames[0]).toMatchObject({ width: 320, height: 240 });
  });

  it('turns a rotated phone video upright: portrait frames, turned clockwise', async () => {
    const frames = await collect(extractFrames(dir.path('portrait.mov'), { fps: 5 }));
    const first = frames[0];
    if (first === undefined) throw new Error('no frames');
    expect(first).toMatchObject({ width: 180, height: 320 });
    // The marker painted top-left in the stored landscape frame ends up top-right.
    expect(isWhite(first, first.width - 4, 3)).toBe(true);
    expect(isWhite(first, 3, 3)).toBe(false);
    expect(isWhite(first, 3, first.height - 4)).toBe(false);
  });

  it('reads an iPhone-style 10-bit HEVC .mov shot upright', async () => {
    const frames = await collect(extractFrames(dir.path('iphone.mov'), { fps: 5 }));
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames[0]).toMatchObject({ width: 240, height: 320 });
  });

  it('reuses a probe it is given', async () => {
    const probe = await probeVideo(dir.path('portrait.mov'));
    const frames = await collect(extractFrames(dir.path('portrait.mov'), { fps: 5, maxDimension: 160, probe }));
    expect(frames[0]).toMatchObject({ width: 90, height: 160 });
  });

  it('holds ffmpeg back while the consumer is busy, and kills it on an early break', async () => {
    let pid: number | undefined;
    let count = 0;
    for await (const frame of extractFrames(dir.path('long.mp4'), { fps: 30 })) {
      expect(frame.data).toHaveLength(160 * 120 * 3);
      pid ??= await waitFor(() => childPids('ffmpeg')[0]);
      if (++count === 2) {
        // 600 frames decode in well under this pause; ffmpeg still being alive
        // means the pipe's back-pressure stopped it, so nothing piles up in memory.
        await sleep(400);
        expect(isRunning(pid)).toBe(true);
        break;
      }
    }
    expect(pid).toBeDefined();
    expect(isRunning(pid ?? 0)).toBe(false);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('kills ffmpeg on abort and throws the abort reason', async () => {
    const controller = new AbortController();
    let count = 0;
    const run = async () => {
      for await (const _frame of extractFrames(dir.path('long.mp4'), { fps: 30, signal: controller.signal })) {
        if (++count === 3) controller.abort(new Error('job cancelled'));
      }
    };
    await expect(run()).rejects.toThrow('job cancelled');
    expect(count).toBeLessThan(10);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('throws at once for an already-aborted signal, starting nothing', async () => {
    const frames = extractFrames(dir.path('clip.mp4'), { fps: 5, signal: AbortSignal.abort() });
    await expect(frames.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('rejects a non-video through the probe', async () => {
    await expect(collect(extractFrames(dir.path('photo.jpg'), { fps: 5 }))).rejects.toBeInstanceOf(NotAVideoError);
  });

  it('surfaces an ffmpeg failure with a readable message', async () => {
    const probe = { ...(await probeVideo(dir.path('clip.mp4'))), videoStreamIndex: 7 };
    const error: unknown = await collect(extractFrames(dir.path('clip.mp4'), { fps: 5, probe })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaToolError);
    expect(error).toMatchObject({ code: 'TOOL_FAILED', tool: 'ffmpeg', exitCode: 1 });
    expect((error as MediaToolError).message).toMatch(/^Could not extract frames: ffmpeg exited with 1 \(.+\)$/);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('with jpegQuality, encodes every frame as a JPEG in the same ffmpeg, from the same pixels', async () => {
    const plain = await collect(extractFrames(dir.path('clip.mp4'), { fps: 5 }));
    const frames: VideoFrame[] = [];
    const ffmpegCounts: number[] = [];
    for await (const frame of extractFrames(dir.path('clip.mp4'), { fps: 5, jpegQuality: 80 })) {
      frames.push(frame);
      ffmpegCounts.push(childPids('ffmpeg').length);
    }
    // One process decodes and encodes (no encoder fed the frames through a second pipe); the
    // last frames may come after it ended.
    expect(Math.max(...ffmpegCounts)).toBe(1);
    expect(ffmpegCounts[0]).toBe(1);
    expect(frames).toHaveLength(plain.length);
    const { ffmpegPath } = await resolveFfmpeg();
    for (const [i, frame] of frames.entries()) {
      // The pose model gets the very bytes it gets without JPEGs.
      expect(Buffer.from(frame.data).equals(Buffer.from(plain[i]?.data ?? []))).toBe(true);
      const jpeg = frame.jpeg ?? Buffer.alloc(0);
      expect([...jpeg.subarray(0, 2), ...jpeg.subarray(-2)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      const decoded = await runTool(
        'ffmpeg',
        ffmpegPath,
        ['-v', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
        { timeoutMs: 10_000, input: jpeg },
      );
      expect(decoded.stdout).toHaveLength(frame.data.length);
      expect(difference(frame.data, decoded.stdout)).toBeLessThan(8);
    }
    expect(plain.every((frame) => frame.jpeg === undefined)).toBe(true);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('with jpegQuality, kills ffmpeg on an early break', async () => {
    for await (const frame of extractFrames(dir.path('long.mp4'), { fps: 30, jpegQuality: 80 })) {
      expect(frame.jpeg?.length).toBeGreaterThan(0);
      break;
    }
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('validates its options', async () => {
    await expect(extractFrames(dir.path('clip.mp4'), { fps: 5, jpegQuality: 0 }).next()).rejects.toThrow(RangeError);
    await expect(extractFrames(dir.path('clip.mp4'), { fps: 0 }).next()).rejects.toThrow(RangeError);
    await expect(extractFrames(dir.path('clip.mp4'), { fps: 5, maxDimension: 1 }).next()).rejects.toThrow(RangeError);
  });
});

describe('fitWithin', () => {
  it.each([
    [1920, 1080, 640, 640, 360],
    [1080, 1920, 640, 360, 640],
    [320, 240, 640, 320, 240],
    [321, 241, 640, 320, 240],
    [1280, 720, 641, 640, 360],
    [4000, 3000, 257, 256, 192],
    [1000, 2, 640, 640, 2],
  ])('fits %ix%i within %i as %ix%i', (width, height, max, expectedWidth, expectedHeight) => {
    expect(fitWithin(width, height, max)).toEqual({ width: expectedWidth, height: expectedHeight });
  });
});
