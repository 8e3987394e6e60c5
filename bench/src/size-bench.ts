/**
 * Item 3 of the bench: the API server's CPU for one upload (initiate +
 * complete) of a small and a large object.
 */
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import type { Child } from './child.ts';
import type { SizeRow } from './report.ts';
import { formatBytes, median } from './stats.ts';

export const SMALL_BYTES = 1_000_000;

/**
 * Server CPU (read over IPC, µs) for initiate + complete of one upload, small
 * and large alternately. The bytes never pass through the server, so what
 * lands at the key is irrelevant to it: each round fills its keys with a
 * server-side copy of a source object stored once per size (about 1.3 s per
 * GiB in the emulator, against about 8 s for a PUT), which buys many more
 * rounds and so a tighter figure. Each object is deleted after its round.
 */
export async function measureSizeIndependence(p: {
  api: string;
  call: <T>(url: string, input: unknown) => Promise<T>;
  sessionId: string;
  server: Child;
  aws: { endpoint: string; bucket: string };
  largeBytes: number;
  rounds: number;
}): Promise<{ rows: SizeRow[]; ratio: number; raw: Record<string, number[]> }> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: p.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const sourceKey = (bytes: number) => `bench-size-source/${bytes}`;
  for (const bytes of [SMALL_BYTES, SMALL_BYTES + 1, p.largeBytes]) {
    await s3.send(
      new PutObjectCommand({
        Bucket: p.aws.bucket,
        Key: sourceKey(bytes),
        Body: Buffer.alloc(bytes, 1),
        ContentType: 'video/mp4',
      }),
    );
  }
  type Started = { bytes: number; jobId: string; s3Key: string; cpu: number };
  const initiate = async (bytes: number): Promise<Started & { presignedUrl: string; headers: Record<string, string> }> => {
    const c0 = await p.server.cpuMicros();
    const init = await p.call<{ jobId: string; presignedUrl: string; headers: Record<string, string>; s3Key: string }>(
      `${p.api}/upload.initiate`,
      { sessionId: p.sessionId, contentType: 'video/mp4', sizeBytes: bytes },
    );
    return { ...init, bytes, cpu: (await p.server.cpuMicros()) - c0 };
  };
  const complete = async (upload: Started): Promise<number> => {
    const c0 = await p.server.cpuMicros();
    const done = await p.call<{ status: string }>(`${p.api}/upload.complete`, { jobId: upload.jobId });
    const cpu = (await p.server.cpuMicros()) - c0;
    if (done.status !== 'queued') throw new Error(`upload.complete answered status ${done.status}`);
    await s3.send(new DeleteObjectCommand({ Bucket: p.aws.bucket, Key: upload.s3Key }));
    return upload.cpu + cpu;
  };
  // One round: initiate both, PUT both, complete both, in alternating order, so the
  // two uploads share the same idle gaps and cache state (a large PUT elsewhere on
  // the machine evicts the server's caches; that must not be charged to one size).
  const round = async (order: number[]): Promise<Map<number, number>> => {
    const started = [];
    for (const bytes of order) started.push(await initiate(bytes));
    for (const upload of started) {
      await s3.send(
        new CopyObjectCommand({
          Bucket: p.aws.bucket,
          Key: upload.s3Key,
          CopySource: `${p.aws.bucket}/${sourceKey(upload.bytes)}`,
        }),
      );
    }
    const cpu = new Map<number, number>();
    for (const upload of started) cpu.set(upload.bytes, await complete(upload));
    return cpu;
  };
  for (let i = 0; i < 10; i++) await round([SMALL_BYTES, SMALL_BYTES + 1]);
  const samples = new Map<number, number[]>([
    [SMALL_BYTES, []],
    [p.largeBytes, []],
  ]);
  for (let r = 0; r < p.rounds; r++) {
    const cpu = await round(r % 2 === 0 ? [SMALL_BYTES, p.largeBytes] : [p.largeBytes, SMALL_BYTES]);
    for (const [bytes, micros] of cpu) samples.get(bytes)?.push(micros);
  }
  for (const bytes of [SMALL_BYTES, SMALL_BYTES + 1, p.largeBytes]) {
    await s3.send(new DeleteObjectCommand({ Bucket: p.aws.bucket, Key: sourceKey(bytes) }));
  }
  s3.destroy();
  const raw = Object.fromEntries([...samples].map(([bytes, micros]) => [String(bytes), micros]));
  const small = median(samples.get(SMALL_BYTES) ?? []);
  const large = median(samples.get(p.largeBytes) ?? []);
  return {
    rows: [
      { label: `${formatBytes(SMALL_BYTES)} declared`, declaredBytes: SMALL_BYTES, cpuMicros: small },
      { label: `${formatBytes(p.largeBytes)} declared`, declaredBytes: p.largeBytes, cpuMicros: large },
    ],
    ratio: large / small,
    raw,
  };
}
