/**
 * Item 5 of the bench: the worker's analysis of a generated clip of a person
 * (1280×720, 10 fps) with MoveNet Lightning, on one and on two pose threads,
 * each in a process of its own: frames/s, real-time factor and peak RSS.
 * Then on two threads with every frame stored as a JPEG (`includeFrames`).
 * In every two-thread run another process asks a /healthz in the analysing
 * process every 20 ms, as a browser would ask the API of `pnpm dev` with its
 * worker in process; its latency is reported for the runs with frames.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { resolveFfmpeg } from '@coach/media';
import { videoFromImage } from '@coach/media/testing';

import { testPhotoPath } from '../../test/helpers/test-photo.ts';
import { bundleWorkerChild } from './bundle-worker-child.ts';
import type { HealthzLatency, WorkerRow } from './report.ts';
import { runChildToEnd } from './run-child.ts';
import type { EmulatorInfo } from './servers.ts';
import { median, percentile } from './stats.ts';

const run = promisify(execFile);
const benchDir = path.resolve(import.meta.dirname, '..');

export const CLIP = { width: 1280, height: 720, fps: 10 } as const;
const MODEL = 'lightning';

interface AnalysisOutcome {
  threads: number;
  includeFrames: boolean;
  seconds: number;
  cpuSeconds: number;
  ffmpegCpuSeconds: number;
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
    await run(ffmpegPath, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      testPhotoPath(),
      '-vf',
      filter,
      '-frames:v',
      '1',
      framed,
    ]);
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
  /** Frames stored vs not is measured this many times each, alternating: the machine is shared. */
  rounds: number;
  aws: EmulatorInfo;
  cacheDir: string;
  log: (message: string) => void;
}): Promise<{
  rows: WorkerRow[];
  clip: { seconds: number; width: number; height: number; fps: number; model: string };
  framesRatio: number;
  framesCpuRatio: number;
  healthz: HealthzLatency;
}> {
  input.log(
    `worker: preparing a ${input.clipSeconds} s ${CLIP.width}x${CLIP.height} clip at ${CLIP.fps} fps (kept in ${path.relative(benchDir, input.cacheDir)})`,
  );
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

  const script = await bundleWorkerChild(path.join(input.cacheDir, '..', 'worker-child'));
  const rows: WorkerRow[] = [];
  const latencies: number[] = [];
  const runs = [{ threads: 1, includeFrames: false }];
  for (let round = 0; round < input.rounds; round++) {
    runs.push({ threads: 2, includeFrames: false }, { threads: 2, includeFrames: true });
  }
  for (const { threads, includeFrames } of runs) {
    // Both sides of the frames ratio serve the same /healthz polling, so the ratio is the cost of
    // storing frames alone (3,000 answers cost the process about a second of CPU); the latency
    // reported is the one with frames.
    const isPolled = threads === 2;
    input.log(
      `worker: analysing on ${threads} pose thread(s)${includeFrames ? ', storing frames' : ''}${isPolled ? ', /healthz polled' : ''}`,
    );
    const poller = isPolled ? pollHealthz(includeFrames ? latencies : []) : undefined;
    const outcome = await runChildToEnd<AnalysisOutcome>({
      label: `worker analysis (${threads} threads${includeFrames ? ', frames' : ''})`,
      script,
      cwd: benchDir,
      env: {
        BENCH_AWS_ENDPOINT: input.aws.endpoint,
        BENCH_BUCKET: input.aws.bucket,
        BENCH_KEY: 'bench/worker/clip.mp4',
        BENCH_WARM_KEY: 'bench/worker/warm.mp4',
        BENCH_THREADS: String(threads),
        BENCH_MODEL: MODEL,
        BENCH_SAMPLE_FPS: String(CLIP.fps),
        BENCH_INCLUDE_FRAMES: String(includeFrames),
        BENCH_HEALTHZ: String(isPolled),
      },
      timeoutMs: 15 * 60_000,
      onLine: poller?.onLine,
    });
    await poller?.stop();
    rows.push({
      threads,
      includeFrames,
      cpuSeconds: outcome.cpuSeconds,
      ffmpegCpuSeconds: outcome.ffmpegCpuSeconds,
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
  const twoThreads = (frames: boolean) => rows.filter((r) => r.threads === 2 && r.includeFrames === frames);
  const medianOf = (frames: boolean, key: 'seconds' | 'cpuSeconds') => median(twoThreads(frames).map((r) => r[key]));
  return {
    rows,
    clip: { seconds: input.clipSeconds, ...CLIP, model: MODEL },
    framesRatio: medianOf(true, 'seconds') / medianOf(false, 'seconds'),
    framesCpuRatio: medianOf(true, 'cpuSeconds') / medianOf(false, 'cpuSeconds'),
    healthz: {
      samples: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
    },
  };
}

const HEALTHZ_INTERVAL_MS = 20;

/**
 * Asks the child's /healthz every 20 ms (one request at a time) between its
 * `ANALYSIS START` and `ANALYSIS END` lines, recording each answer's latency.
 */
function pollHealthz(latencies: number[]) {
  let port: number | undefined;
  let isRunning = false;
  let loop: Promise<void> = Promise.resolve();
  const run = async () => {
    while (isRunning) {
      const started = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
      } catch {
        // The child is ending.
      }
      await new Promise((resolve) => setTimeout(resolve, HEALTHZ_INTERVAL_MS));
    }
  };
  return {
    onLine: (line: string) => {
      const match = /^HEALTHZ (\d+)$/.exec(line);
      if (match) port = Number(match[1]);
      if (line === 'ANALYSIS START' && port !== undefined) {
        isRunning = true;
        loop = run();
      }
      if (line === 'ANALYSIS END') isRunning = false;
    },
    async stop() {
      isRunning = false;
      await loop;
    },
  };
}
