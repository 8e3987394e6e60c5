/**
 * Item 5 of the bench: the worker's analysis of a generated clip of a person
 * (1280×720, 10 fps) with MoveNet Lightning, on one and on two pose threads,
 * each in a process of its own: frames/s, real-time factor and peak RSS.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveFfmpeg } from '@coach/media';
import { videoFromImage } from '@coach/media/testing';

import { testPhotoPath } from '../../test/helpers/test-photo.ts';
import type { WorkerRow } from './report.ts';
import { runChildToEnd } from './run-child.ts';
import type { EmulatorInfo } from './servers.ts';

const run = promisify(execFile);
const benchDir = path.resolve(import.meta.dirname, '..');

export const CLIP = { width: 1280, height: 720, fps: 10 } as const;
const MODEL = 'lightning';

interface AnalysisOutcome {
  threads: number;
  seconds: number;
  poolStartSeconds: number;
  frames: number;
  reliableFrames: number;
  timingsMs: Record<string, number>;
  peakRssKiB: number;
}

/**
 * The test photo of a player, framed 16:9 (scaled to the clip's height,
 * centred on black) and turned into a clip that slowly pans and zooms, so
 * every frame differs. Generated clips are kept in `cacheDir` for later runs.
 */
async function personClip(cacheDir: string, seconds: number): Promise<string> {
  const file = path.join(cacheDir, `person-${CLIP.width}x${CLIP.height}-${CLIP.fps}fps-${seconds}s.mp4`);
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const framed = path.join(cacheDir, `person-${CLIP.width}x${CLIP.height}.png`);
  if (!existsSync(framed)) {
    const { ffmpegPath } = await resolveFfmpeg();
    const filter = `scale=-2:${CLIP.height},pad=${CLIP.width}:${CLIP.height}:(ow-iw)/2:0`;
    await run(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-i', testPhotoPath(), '-vf', filter, '-frames:v', '1', framed]);
  }
  const partial = `${file}.partial.mp4`;
  try {
    await videoFromImage({ imagePath: framed, path: partial, seconds, fps: CLIP.fps, width: CLIP.width });
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
  return file;
}

export async function runWorkerBench(input: {
  clipSeconds: number;
  aws: EmulatorInfo;
  cacheDir: string;
  log: (message: string) => void;
}): Promise<{ rows: WorkerRow[]; clip: { seconds: number; width: number; height: number; fps: number; model: string } }> {
  input.log(`worker: preparing a ${input.clipSeconds} s ${CLIP.width}x${CLIP.height} clip at ${CLIP.fps} fps (kept in ${path.relative(benchDir, input.cacheDir)})`);
  const clip = await personClip(input.cacheDir, input.clipSeconds);
  const warm = await personClip(input.cacheDir, 1);
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: input.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const put = (key: string, file: string) =>
    s3.send(new PutObjectCommand({ Bucket: input.aws.bucket, Key: key, Body: readFileSync(file), ContentType: 'video/mp4' }));
  await put('bench/worker/clip.mp4', clip);
  await put('bench/worker/warm.mp4', warm);
  s3.destroy();

  const rows: WorkerRow[] = [];
  for (const threads of [1, 2]) {
    input.log(`worker: analysing on ${threads} pose thread(s)`);
    const outcome = await runChildToEnd<AnalysisOutcome>({
      label: `worker analysis (${threads} threads)`,
      script: path.join(benchDir, 'src/worker-child.ts'),
      cwd: benchDir,
      env: {
        BENCH_AWS_ENDPOINT: input.aws.endpoint,
        BENCH_BUCKET: input.aws.bucket,
        BENCH_KEY: 'bench/worker/clip.mp4',
        BENCH_WARM_KEY: 'bench/worker/warm.mp4',
        BENCH_THREADS: String(threads),
        BENCH_MODEL: MODEL,
        BENCH_SAMPLE_FPS: String(CLIP.fps),
      },
      timeoutMs: 15 * 60_000,
    });
    rows.push({
      threads,
      frames: outcome.frames,
      reliableFrames: outcome.reliableFrames,
      seconds: outcome.seconds,
      framesPerSec: outcome.frames / outcome.seconds,
      realTimeFactor: outcome.seconds / input.clipSeconds,
      peakRssMiB: outcome.peakRssKiB / 1024,
      poolStartSeconds: outcome.poolStartSeconds,
      timingsMs: outcome.timingsMs,
    });
  }
  return { rows, clip: { seconds: input.clipSeconds, ...CLIP, model: MODEL } };
}
