// Measures extraction speed, memory and JPEG cost on this machine:
//   node packages/media/test/perf/bench.ts
// Not a test (no assertions, ~1 min of CPU); numbers go in the package README.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { extractFrames, probeVideo, type VideoFrame } from '../../src/index.ts';
import { generateTestVideo } from '../../src/testing/index.ts';

const dir = await mkdtemp(path.join(tmpdir(), 'media-bench-'));
try {
  const clip = path.join(dir, 'clip-720p.mp4');
  const seconds = 60;
  let start = performance.now();
  await generateTestVideo({ path: clip, seconds, width: 1280, height: 720, fps: 30, container: 'mp4' });
  console.log(`generate ${seconds}s 720p30 H.264: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  const probe = await probeVideo(clip);

  for (const [fps, maxDimension] of [
    [30, 640],
    [10, 640],
    [10, 256],
    [30, 1280],
  ] as const) {
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let count = 0;
    let first: VideoFrame | undefined;
    start = performance.now();
    for await (const frame of extractFrames(clip, { fps, maxDimension, probe })) {
      first ??= frame;
      count++;
      if (count % 30 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const elapsed = (performance.now() - start) / 1000;
    console.log(
      `extract fps=${fps} max=${maxDimension} -> ${first?.width}x${first?.height}: ${count} frames in ${elapsed.toFixed(2)} s = ` +
        `${(count / elapsed).toFixed(0)} frames/s, ${(seconds / elapsed).toFixed(1)}x real time, ` +
        `RSS growth ${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB (frames total ${((count * (first?.data.length ?? 0)) / 2 ** 20).toFixed(0)} MiB)`,
    );
  }

  // The JPEGs' cost: the same extraction with the frames also encoded by that ffmpeg.
  for (const jpegQuality of [undefined, 85]) {
    start = performance.now();
    let count = 0;
    let bytes = 0;
    for await (const frame of extractFrames(clip, { fps: 10, maxDimension: 640, probe, jpegQuality })) {
      count++;
      bytes += frame.jpeg?.length ?? 0;
    }
    const elapsed = (performance.now() - start) / 1000;
    console.log(
      `extract fps=10 max=640 ${jpegQuality ? `with JPEGs q${jpegQuality}` : 'without JPEGs'}: ${count} frames in ${elapsed.toFixed(2)} s` +
        (jpegQuality ? `, ${(bytes / count / 1024).toFixed(0)} KiB per JPEG` : ''),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
