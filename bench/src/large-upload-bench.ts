/**
 * Item 4 of the bench: the same file uploaded with `@coach/client`'s
 * `uploadVideo` as one PUT and as a parallel multipart upload, to the same
 * emulator endpoint, each in a client process of its own (MB/s, peak RSS).
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';

import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { bundleUploadChild } from './bundle-client-child.ts';
import type { LargeUploadRow } from './report.ts';
import { runChildToEnd } from './run-child.ts';
import type { EmulatorInfo } from './servers.ts';
import { median } from './stats.ts';

interface UploadOutcome {
  jobId: string;
  status: string;
  mode: 'single' | 'multipart' | undefined;
  seconds: number;
  baselineRssKiB: number;
  peakRssKiB: number;
}

export interface LargeUploadInput {
  fileBytes: number;
  rounds: number;
  /** A server whose multipart threshold is above `fileBytes`: the upload is one PUT. */
  singleApi: string;
  /** A server with the default threshold (64 MiB): the upload goes in parts. */
  multipartApi: string;
  /** Part size and parallelism of the multipart side, for the table. */
  multipartLabel: string;
  token: string;
  sessionId: string;
  aws: EmulatorInfo;
  workDir: string;
  log: (message: string) => void;
}

const benchDir = path.resolve(import.meta.dirname, '..');

/** Random bytes (a 1 MiB block repeated), written once and uploaded by every run. */
async function writeFile(file: string, bytes: number): Promise<void> {
  const block = randomBytes(1024 * 1024);
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += block.length) {
      await handle.write(block, 0, Math.min(block.length, bytes - written));
    }
  } finally {
    await handle.close();
  }
}

/**
 * One upload in a client process of its own, running the bundled child
 * (plain JavaScript, see bundle-client-child.ts); the stored object is
 * deleted once measured.
 */
async function uploadOnce(
  input: Pick<LargeUploadInput, 'token' | 'sessionId' | 'aws'>,
  s3: S3Client,
  side: { mode: 'single' | 'multipart'; api: string; label: string },
  file: string,
  script: string,
): Promise<UploadOutcome> {
  const outcome = await runChildToEnd<UploadOutcome>({
    label: `upload client (${side.label})`,
    script,
    cwd: benchDir,
    env: { BENCH_API: side.api, BENCH_TOKEN: input.token, BENCH_SESSION: input.sessionId, BENCH_FILE: file },
    timeoutMs: 10 * 60_000,
  });
  if (outcome.mode !== side.mode || outcome.status !== 'queued') {
    throw new Error(`expected a ${side.mode} upload to be queued, got ${outcome.mode} / ${outcome.status}`);
  }
  // The emulator keeps objects in memory: drop each one once measured.
  const job = await fetch(`${side.api}/jobs.get?input=${encodeURIComponent(JSON.stringify({ jobId: outcome.jobId }))}`, {
    headers: { authorization: `Bearer ${input.token}` },
  });
  const { result } = (await job.json()) as { result: { data: { s3Key: string } } };
  await s3.send(new DeleteObjectCommand({ Bucket: input.aws.bucket, Key: result.data.s3Key }));
  return outcome;
}

function s3ClientFor(aws: EmulatorInfo): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
}

/**
 * One multipart upload of a `fileBytes` file (2 GiB in the bench) through the
 * production-default server, to the bench's emulator, which keeps the whole
 * object in its own process's memory (about the file's size; the machine needs
 * that much free) until it is deleted right after. Reports the client's peak RSS.
 */
export async function runClientMemoryBench(
  input: Pick<
    LargeUploadInput,
    'fileBytes' | 'multipartApi' | 'multipartLabel' | 'token' | 'sessionId' | 'aws' | 'workDir' | 'log'
  >,
): Promise<LargeUploadRow> {
  const file = path.join(input.workDir, 'client-memory.mp4');
  await writeFile(file, input.fileBytes);
  const script = await bundleUploadChild(input.workDir);
  const s3 = s3ClientFor(input.aws);
  try {
    const label = `multipart ${formatGiB(input.fileBytes)} (${input.multipartLabel})`;
    input.log(`client memory: ${label}`);
    const run = await uploadOnce(input, s3, { mode: 'multipart', api: input.multipartApi, label }, file, script);
    return {
      mode: label,
      fileBytes: input.fileBytes,
      seconds: run.seconds,
      mbPerSec: input.fileBytes / 1e6 / run.seconds,
      peakRssMiB: run.peakRssKiB / 1024,
      baselineRssMiB: run.baselineRssKiB / 1024,
    };
  } finally {
    s3.destroy();
    await rm(file, { force: true });
  }
}

function formatGiB(bytes: number): string {
  return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export async function runLargeUploadBench(
  input: LargeUploadInput,
): Promise<{ rows: LargeUploadRow[]; ratio: number; raw: Record<string, UploadOutcome[]> }> {
  const file = path.join(input.workDir, 'large-upload.mp4');
  await writeFile(file, input.fileBytes);
  const script = await bundleUploadChild(input.workDir);
  const s3 = s3ClientFor(input.aws);
  const sides = [
    { mode: 'single' as const, api: input.singleApi, label: 'single PUT' },
    { mode: 'multipart' as const, api: input.multipartApi, label: `multipart (${input.multipartLabel})` },
  ];
  const outcomes = new Map<string, UploadOutcome[]>(sides.map((s) => [s.mode, []]));

  const upload = (side: (typeof sides)[number]) => uploadOnce(input, s3, side, file, script);

  // Each upload runs in a fresh client process; a first pass warms the servers and the emulator.
  if (input.rounds > 1) {
    input.log('large uploads: warming up both paths');
    for (const side of sides) await upload(side);
  }
  for (let round = 0; round < input.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      input.log(`large uploads: round ${round + 1}/${input.rounds}, ${side.label}`);
      outcomes.get(side.mode)?.push(await upload(side));
    }
  }
  s3.destroy();

  const rows: LargeUploadRow[] = sides.map((side) => {
    const runs = outcomes.get(side.mode) ?? [];
    return {
      mode: side.label,
      fileBytes: input.fileBytes,
      seconds: median(runs.map((r) => r.seconds)),
      mbPerSec: median(runs.map((r) => input.fileBytes / 1e6 / r.seconds)),
      peakRssMiB: median(runs.map((r) => r.peakRssKiB / 1024)),
      baselineRssMiB: median(runs.map((r) => r.baselineRssKiB / 1024)),
    };
  });
  const single = outcomes.get('single') ?? [];
  const multi = outcomes.get('multipart') ?? [];
  // Per round, multipart MB/s over single-PUT MB/s.
  const ratio = median(multi.map((m, i) => (single[i]?.seconds ?? Number.NaN) / m.seconds));
  return { rows, ratio, raw: Object.fromEntries(outcomes) };
}
