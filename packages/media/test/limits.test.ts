import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_MEDIA_LIMITS,
  extractFrames,
  FrameTooLargeError,
  MediaToolError,
  NotAVideoError,
  probeVideo,
  resolveFfmpeg,
} from '../src/index.ts';
import { startTool } from '../src/run-tool.ts';
import { generateTestVideo, runFfmpeg } from '../src/testing/generate-test-video.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();
let huge: string;
let clip: string;

beforeAll(async () => {
  // One 8000×8000 PNG frame in a MOV: ~250 KB on disk, 256 MB as a decoded RGBA frame.
  huge = dir.path('huge.mov');
  await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=8000x8000:d=1:r=1', '-frames:v', '1', '-c:v', 'png', '-f', 'mov', huge]);
  clip = await generateTestVideo({ path: dir.path('clip.mp4'), container: 'mp4', seconds: 1, width: 320, height: 240, fps: 10 });
}, 120_000);

describe.runIf(process.platform === 'linux')('children started with limits', () => {
  it('run at a lower priority and under an address-space limit, set before ffmpeg starts', async () => {
    const { ffmpegPath } = await resolveFfmpeg();
    // Waits on stdin, so it can be inspected while it runs.
    const proc = startTool(
      'ffmpeg',
      ffmpegPath,
      ['-v', 'error', '-f', 'rawvideo', '-video_size', '2x2', '-i', 'pipe:0', '-f', 'null', '-'],
      {
        maxMemoryBytes: 512 * 1024 ** 2,
        niceness: 7,
      },
    );
    try {
      const pid = proc.pid ?? 0;
      await expect.poll(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe(ffmpegPath);
      expect(os.getPriority(pid)).toBe(os.getPriority() + 7);
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      expect(limits).toMatch(/Max address space\s+536870912\s+536870912\s+bytes/);
    } finally {
      await proc.kill();
    }
  });
});

describe('probeVideo and extractFrames under MediaLimits', () => {
  it('refuses a frame over maxFramePixels before decoding it, naming its size', async () => {
    const started = performance.now();
    const error = await probeVideo(huge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ width: 8000, height: 8000, maxPixels: DEFAULT_MEDIA_LIMITS.maxFramePixels });
    // Decoding the frame is what took seconds and gigabytes; refusing it does not.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('decodes real phone-size video (4K) within the default limits', async () => {
    const uhd = await generateTestVideo({
      path: dir.path('uhd.mp4'),
      container: 'mp4',
      seconds: 1,
      width: 3840,
      height: 2160,
      fps: 30,
    });
    let count = 0;
    for await (const frame of extractFrames(uhd, { fps: 10, limits: DEFAULT_MEDIA_LIMITS })) {
      expect(frame.width).toBe(640);
      count++;
    }
    expect(count).toBe(10);
  }, 60_000);

  it('fails with MEMORY_LIMIT when decoding needs more than maxMemoryBytes', async () => {
    const limits = { maxFramePixels: 100_000_000, maxMemoryBytes: 200 * 1024 ** 2, niceness: 10 };
    const probe = await probeVideo(huge, { limits });
    const frames = extractFrames(huge, { fps: 1, probe, limits });
    const error = await frames.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaToolError);
    expect(error).toMatchObject({ code: 'MEMORY_LIMIT' });
  });

  it('opens only the MP4/MOV/3GP and Matroska/WebM demuxers, and no file through another', async () => {
    const avi = dir.path('clip.avi');
    await runFfmpeg(['-i', clip, '-c:v', 'mpeg4', '-f', 'avi', avi]);
    // A concat script is a text file that makes ffmpeg read other files.
    const script = dir.path('list.txt');
    await writeFile(script, `ffconcat version 1.0\nfile '${clip}'\n`);
    for (const file of [avi, script]) {
      const error = await probeVideo(file).catch((e: unknown) => e);
      expect(error, file).toBeInstanceOf(NotAVideoError);
    }
    await expect(probeVideo(clip)).resolves.toMatchObject({ width: 320, height: 240 });
  });
});
