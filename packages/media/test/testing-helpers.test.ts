import { describe, expect, it } from 'vitest';

import { extractFrames, probeVideo, type VideoFrame } from '../src/index.ts';
import { runFfmpeg } from '../src/testing/generate-test-video.ts';
import { generateTestVideo, videoFromImage } from '../src/testing/index.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();

describe('videoFromImage', () => {
  it('turns a still photo into a short H.264 mp4 whose frames differ', async () => {
    const photo = dir.path('athlete.jpg');
    // A 4:3 "photo" with detail everywhere, so a pan or zoom changes every frame.
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=800x600', '-frames:v', '1', photo]);
    const video = await videoFromImage({ imagePath: photo, path: dir.path('athlete.mp4'), seconds: 1, fps: 10, width: 320 });

    const probe = await probeVideo(video);
    expect(probe).toMatchObject({ codec: 'h264', width: 320, height: 240, rotation: 0 });
    expect(probe.durationSeconds).toBeCloseTo(1, 1);

    const frames: VideoFrame[] = [];
    for await (const frame of extractFrames(video, { fps: 10 })) frames.push(frame);
    expect(frames).toHaveLength(10);
    const [first, last] = [frames[0]?.data ?? new Uint8Array(), frames.at(-1)?.data ?? new Uint8Array()];
    let difference = 0;
    for (let i = 0; i < first.length; i++) difference += Math.abs((first[i] ?? 0) - (last[i] ?? 0));
    expect(difference / first.length).toBeGreaterThan(2);
  });
});

describe('generateTestVideo', () => {
  it('refuses a rotation that WebM cannot store', async () => {
    await expect(
      generateTestVideo({ path: dir.path('r.webm'), container: 'webm', seconds: 1, width: 64, height: 48, fps: 5, rotation: 90 }),
    ).rejects.toThrow(/WebM/);
  });

  it('refuses odd sizes, which H.264 in 4:2:0 cannot encode', async () => {
    await expect(
      generateTestVideo({ path: dir.path('odd.mp4'), container: 'mp4', seconds: 1, width: 65, height: 48, fps: 5 }),
    ).rejects.toThrow(RangeError);
  });
});
