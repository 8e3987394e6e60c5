/**
 * The worker's analysis (`createVideoAnalyzer`: download, probe, frames at the
 * job's fps, MoveNet on a pose pool, metrics, results stored) of one stored
 * clip, in a process of its own so its peak RSS is the worker's (bundled by
 * bundle-worker-child.ts and run on plain node, as the worker's build runs). One short
 * clip is analysed first to warm the pose threads. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createAwsClients, createS3Storage } from '@coach/aws';
import { createPosePool, type MoveNetModelName } from '@coach/pose';
import { createVideoAnalyzer, type AnalysisInput } from '@coach/worker';

import { processingJobRow } from '../../test/helpers/job-rows.ts';
import { peakRssKiB } from './peak-rss.ts';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const threads = Number(required('BENCH_THREADS'));
const model = required('BENCH_MODEL') as MoveNetModelName;
const sampleFps = Number(required('BENCH_SAMPLE_FPS'));
const includeFrames = env.BENCH_INCLUDE_FRAMES === 'true';

// A /healthz in this process, as the API's beside the in-process worker of `pnpm dev`:
// its latency shows what the analysis leaves of the event loop and the CPU.
const health = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
});
if (env.BENCH_HEALTHZ === 'true') {
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`HEALTHZ ${(health.address() as AddressInfo).port}\n`);
}

const aws = createAwsClients({
  region: 'us-east-1',
  endpoint: required('BENCH_AWS_ENDPOINT'),
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
const storage = createS3Storage({ s3: aws.s3, signer: aws.s3Signer, bucket: required('BENCH_BUCKET') });

let started = performance.now();
const pose = await createPosePool({ model, threads });
const poolStartSeconds = (performance.now() - started) / 1000;
const analyze = createVideoAnalyzer({ storage, pose, model: { name: `movenet-singlepose-${model}`, version: 'bench' } });

const jobFor = (s3Key: string): AnalysisInput['job'] =>
  processingJobRow({
    s3Bucket: storage.bucket,
    s3Key,
    sampleFps,
    includeFrames,
    ownerId: 'bench-worker',
    createdBy: 'bench-worker',
  });
const run = (s3Key: string) =>
  analyze({
    job: jobFor(s3Key),
    signal: new AbortController().signal,
    reportProgress: async () => {},
    confirmLease: async () => {},
  });

/** CPU seconds of this process and of its reaped children (ffmpeg, ffprobe), from /proc (Linux). */
function cpuSeconds(which: 'all' | 'children' = 'all'): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of stat(5), in clock ticks (100 per second on Linux).
    return fields.slice(which === 'all' ? 11 : 13, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
  } catch {
    return Number.NaN;
  }
}

await run(required('BENCH_WARM_KEY'));
process.stdout.write('ANALYSIS START\n');
const cpuBefore = cpuSeconds();
const childCpuBefore = cpuSeconds('children');
started = performance.now();
const result = await run(required('BENCH_KEY'));
const seconds = (performance.now() - started) / 1000;
const cpu = cpuSeconds() - cpuBefore;
const childCpu = cpuSeconds('children') - childCpuBefore;
process.stdout.write('ANALYSIS END\n');
health.close();
await pose.close();
aws.destroy();
process.stdout.write(
  `${JSON.stringify({
    threads,
    includeFrames,
    seconds,
    cpuSeconds: cpu,
    ffmpegCpuSeconds: childCpu,
    poolStartSeconds,
    frames: result.frameCount,
    reliableFrames: result.reliableFrameCount,
    timingsMs: result.timingsMs,
    // Pose threads included; ffmpeg runs in a process of its own.
    peakRssKiB: peakRssKiB(),
  })}\n`,
);
