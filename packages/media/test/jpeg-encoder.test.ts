import { beforeAll, describe, expect, it } from 'vitest';

import { encodeJpeg, extractFrames, startJpegEncoder, type VideoFrame } from '../src/index.ts';
import { JpegSplitter } from '../src/jpeg-encoder.ts';
import { generateTestVideo } from '../src/testing/index.ts';
import { childPids } from './helpers/processes.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();
let frames: VideoFrame[] = [];

beforeAll(async () => {
  const clip = dir.path('clip.mp4');
  await generateTestVideo({ path: clip, container: 'mp4', seconds: 2, width: 320, height: 180, fps: 10 });
  frames = [];
  for await (const frame of extractFrames(clip, { fps: 10 })) frames.push(frame);
});

describe('startJpegEncoder', () => {
  it('encodes a whole sequence in one ffmpeg, in order, each JPEG the same as encoding that frame alone', async () => {
    const encoder = await startJpegEncoder({ width: 320, height: 180, quality: 80 });
    const jpegs = Promise.all(frames.map((frame) => encoder.encode(frame)));
    expect(childPids('ffmpeg')).toHaveLength(1);
    await encoder.close();
    const encoded = await jpegs;

    expect(encoded).toHaveLength(frames.length);
    const alone = await Promise.all([
      encodeJpeg(frames[0] as VideoFrame, { quality: 80 }),
      encodeJpeg(frames.at(-1) as VideoFrame, { quality: 80 }),
    ]);
    expect(encoded[0]?.equals(alone[0])).toBe(true);
    expect(encoded.at(-1)?.equals(alone[1])).toBe(true);
    expect(new Set(encoded.map((jpeg) => jpeg.toString('base64'))).size).toBe(frames.length);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('rejects a frame of another size without disturbing the sequence', async () => {
    const encoder = await startJpegEncoder({ width: 320, height: 180, quality: 80 });
    await expect(encoder.encode({ width: 2, height: 2, data: new Uint8Array(12) })).rejects.toThrow(RangeError);
    const jpeg = encoder.encode(frames[0] as VideoFrame);
    await encoder.close();
    expect([...(await jpeg).subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });

  it('rejects pending frames when stopped', async () => {
    const encoder = await startJpegEncoder({ width: 320, height: 180, quality: 80 });
    // Settled into a value at once, so the rejection that abort() causes is never unhandled.
    const outcome = encoder.encode(frames[0] as VideoFrame).then(
      () => 'encoded',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    await encoder.abort();
    expect(await outcome).toMatch(/stopped/);
    expect(childPids('ffmpeg')).toEqual([]);
  });
});

describe('JpegSplitter', () => {
  // SOI, a comment segment whose payload holds FF D9, SOS (empty header), stuffed FF 00, a restart marker, fill, EOI.
  const image = (fill: number) =>
    Buffer.from([
      0xff,
      0xd8,
      0xff,
      0xfe,
      0x00,
      0x04,
      0xff,
      0xd9,
      0xff,
      0xda,
      0x00,
      0x02,
      fill,
      0xff,
      0x00,
      0xff,
      0xd3,
      0x11,
      0xff,
      0xff,
      0xd9,
    ]);

  it('cuts images at their end marker only, whatever the chunking', () => {
    const stream = Buffer.concat([image(1), image(2), image(3)]);
    for (const size of [1, 2, 5, stream.length]) {
      const splitter = new JpegSplitter();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...splitter.push(stream.subarray(i, i + size)));
      expect(out.map((b) => b.toString('hex'))).toEqual([image(1), image(2), image(3)].map((b) => b.toString('hex')));
    }
  });
});
