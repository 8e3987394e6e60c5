import { writeFile } from 'node:fs/promises';

import { beforeAll, describe, expect, it } from 'vitest';

import { encodeJpeg, extractFrames, resolveFfmpeg, type VideoFrame } from '../src/index.ts';
import { runTool } from '../src/run-tool.ts';
import { generateTestVideo } from '../src/testing/index.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();
let frame: VideoFrame;

beforeAll(async () => {
  const clip = dir.path('clip.mp4');
  await generateTestVideo({ path: clip, container: 'mp4', seconds: 1, width: 320, height: 180, fps: 10 });
  for await (const first of extractFrames(clip, { fps: 10 })) {
    frame = first;
    break;
  }
});

/** Decodes a JPEG back to RGB24 with ffmpeg; probeVideo would (rightly) refuse a still image. */
async function decode(path: string): Promise<{ width: number; height: number; data: Buffer }> {
  const { ffmpegPath, ffprobePath } = await resolveFfmpeg();
  const size = await runTool(
    'ffprobe',
    ffprobePath,
    ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path],
    {
      timeoutMs: 10_000,
    },
  );
  const [width = 0, height = 0] = size.stdout.toString().trim().split(',').map(Number);
  const pixels = await runTool(
    'ffmpeg',
    ffmpegPath,
    ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      timeoutMs: 10_000,
    },
  );
  return { width, height, data: pixels.stdout };
}

describe('encodeJpeg', () => {
  it('writes a JPEG that decodes back to the same size and picture', async () => {
    const jpeg = await encodeJpeg(frame, { quality: 90 });
    expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...jpeg.subarray(-2)]).toEqual([0xff, 0xd9]);

    const path = dir.path('frame.jpg');
    await writeFile(path, jpeg);
    const decoded = await decode(path);
    expect(decoded).toMatchObject({ width: 320, height: 180 });
    expect(decoded.data).toHaveLength(frame.data.length);
    let error = 0;
    for (let i = 0; i < frame.data.length; i++) error += Math.abs((frame.data[i] ?? 0) - (decoded.data[i] ?? 0));
    expect(error / frame.data.length).toBeLessThan(8);
  });

  it('makes smaller files at lower quality', async () => {
    const [low, high] = await Promise.all([encodeJpeg(frame, { quality: 10 }), encodeJpeg(frame, { quality: 95 })]);
    expect(low.length).toBeLessThan(high.length);
  });

  it('refuses data that does not match the size', async () => {
    await expect(encodeJpeg({ ...frame, width: frame.width + 2 }, { quality: 80 })).rejects.toThrow(RangeError);
    await expect(encodeJpeg(frame, { quality: 0 })).rejects.toThrow(RangeError);
  });
});
