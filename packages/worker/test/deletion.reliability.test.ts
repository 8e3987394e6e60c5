/**
 * Deletion end to end over real HTTP, real Postgres, the emulator and the
 * real worker: what `sessions.delete` and `jobs.delete` commit is carried out
 * by the sweeper until storage holds nothing under the deleted prefixes, even
 * when a pass fails or dies half-way, and a worker analysing a deleted job
 * stops without storing anything once it is done. The sweeper's clock is the
 * database's; a test that must see a claim lapse moves it into the past, as
 * sweeper.test.ts moves a job's times.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';
import { errorCodeOf, type ApiClient } from '@coach/client';
import { findJob, listPendingDeletions, sql } from '@coach/db';
import { videoFromImage } from '@coach/media/testing';
import { sweepOnce, type SweeperOptions } from '@coach/worker';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { memoryLogger, parsedLines } from '../../../test/helpers/memory-log.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { partUploadOutcome, putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

const MIB = 1024 * 1024;

/** Faults the tests switch on in the storage both the API and the worker use. */
const faults = {
  /** Batch deletes succeed this many times, then fail (an outage mid-deletion). */
  deletesBeforeFailure: Infinity,
  /** Batch deletes succeed this many times, then never answer (a process dying mid-deletion). */
  deletesBeforeHang: Infinity,
  /** While set, the first frame PUT waits on it (an analysis paused mid-way). */
  frameGate: undefined as { reached: () => void; open: Promise<void> } | undefined,
};
/** Every object PUT the worker started, in order. */
const puts: { key: string; at: number }[] = [];

let server: TestServer;
let client: ApiClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deletion-'));
  server = await startTestServer({
    config: { maxUploadBytes: 50 * MIB, multipartThresholdBytes: 5 * MIB, multipartPartSizeBytes: 5 * MIB },
    wrapStorage: (real): ObjectStorage => ({
      ...real,
      async deleteKeys(keys) {
        if (faults.deletesBeforeHang-- <= 0) return new Promise<void>(() => {});
        if (faults.deletesBeforeFailure-- <= 0) throw new Error('injected: batch delete failed');
        return real.deleteKeys(keys);
      },
      async putObject(key, body, contentType) {
        puts.push({ key, at: Date.now() });
        const gate = faults.frameGate;
        if (gate && key.includes('/frames/')) {
          faults.frameGate = undefined;
          gate.reached();
          await gate.open;
        }
        return real.putObject(key, body, contentType);
      },
    }),
  });
  client = server.clientFor(coachA);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const sweep = (overrides: Partial<SweeperOptions> = {}) =>
  sweepOnce(sweeperOptionsFor(server, { deletionRetrySeconds: 0, deletionWriteMarginSeconds: 0, ...overrides }));

async function storedUnder(prefix: string): Promise<string[]> {
  const listed = await server.aws.s3.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
}

const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);
const sessionFolderOf = (key: string) => folderOf(folderOf(key).slice(0, -1));
const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => 'answered',
    (error: unknown) => errorCodeOf(error),
  );

/** A completed video with its original, frames and metrics stored, as the worker leaves one. */
async function storedCompletedVideo(sessionId: string, frames: number) {
  const body = new Uint8Array(2048).fill(7);
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength, includeFrames: true });
  expect((await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body })).status).toBe(200);
  await client.upload.complete.mutate({ jobId: upload.jobId });
  await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: frames });
  for (let i = 0; i < frames; i++) {
    await server.storage.putObject(`${folderOf(upload.s3Key)}frames/${String(i).padStart(6, '0')}.jpg`, 'jpeg', 'image/jpeg');
  }
  await server.storage.putObject(`${folderOf(upload.s3Key)}analysis/metrics.json`, '{}', 'application/json');
  return upload;
}

describe('sessions.delete', () => {
  it('empties every prefix of the session, aborts its uploads in progress, removes late objects, and every procedure answers not found', async () => {
    const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: ['p1'] });
    const completed = await storedCompletedVideo(sessionId, 5);
    // A multipart upload with one part stored, and a single PUT whose URL is still unused.
    const multipart = await client.upload.initiate.mutate({ sessionId, sizeBytes: 6 * MIB });
    expect(multipart.uploadMode).toBe('multipart');
    const { parts } = await client.upload.signParts.mutate({ jobId: multipart.jobId, partNumbers: [1] });
    const part = await fetch(parts[0]?.url ?? '', { method: 'PUT', body: new Uint8Array(5 * MIB) });
    expect(part.status).toBe(200);
    const uploadId = (await findJob(server.db, { jobId: multipart.jobId }))?.multipartUploadId ?? '';
    expect(uploadId).not.toBe('');
    const single = await client.upload.initiate.mutate({ sessionId, sizeBytes: 1024 });
    // Another owner's session, which nothing here may touch.
    const other = await server.clientFor(coachB).sessions.create.mutate({ title: 'Other', playerIds: ['p1'] });
    const otherUpload = await storedCompletedVideoFor(other.sessionId);
    expect(await storedUnder(sessionFolderOf(completed.s3Key))).toHaveLength(7);

    const answer = await client.sessions.delete.mutate({ sessionId });
    expect(answer.jobsDeleted.map((j) => j.jobId).sort()).toEqual([completed.jobId, multipart.jobId, single.jobId].sort());

    const report = await sweep();
    expect(report).toMatchObject({ deletionsDone: 4, deletionFailures: 0, objectsDeleted: 7 });
    expect(await storedUnder(sessionFolderOf(completed.s3Key))).toEqual([]);
    expect(await listPendingDeletions(server.db)).toEqual([]);
    expect(await partUploadOutcome(server, { key: multipart.s3Key, uploadId, partNumber: 2 })).toBe('NoSuchUpload');

    // The single PUT's URL still works (S3 cannot revoke it): what it stores is removed by the key watch.
    const late = await fetch(putUrl(single), { method: 'PUT', headers: single.headers, body: new Uint8Array(1024) });
    expect(late.status).toBe(200);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await storedUnder(sessionFolderOf(completed.s3Key))).toEqual([]);

    const jobs = [completed.jobId, multipart.jobId, single.jobId];
    const jobCalls = (jobId: string) => [
      client.jobs.get.query({ jobId }),
      client.jobs.videoUrl.query({ jobId }),
      client.jobs.frames.query({ jobId, offset: 0, limit: 5 }),
      client.upload.complete.mutate({ jobId }),
      client.upload.signParts.mutate({ jobId, partNumbers: [1] }),
      client.upload.recordParts.mutate({ jobId, parts: [{ partNumber: 1, etag: '0'.repeat(32) }] }),
      client.upload.listParts.query({ jobId }),
      client.upload.abort.mutate({ jobId }),
      client.jobs.delete.mutate({ jobId }),
    ];
    for (const jobId of jobs) {
      const codes = await Promise.all(jobCalls(jobId).map(codeOf));
      expect(new Set(codes), jobId).toEqual(new Set(['JOB_NOT_FOUND']));
    }
    const sessionCodes = await Promise.all(
      [
        client.sessions.get.query({ sessionId }),
        client.jobs.list.query({ sessionId }),
        client.upload.initiate.mutate({ sessionId, sizeBytes: 100 }),
        client.sessions.delete.mutate({ sessionId }),
      ].map(codeOf),
    );
    expect(new Set(sessionCodes)).toEqual(new Set(['SESSION_NOT_FOUND']));
    expect((await client.sessions.list.query()).items.map((s) => s.sessionId)).not.toContain(sessionId);

    // The other owner's video is all there.
    expect(await storedUnder(folderOf(otherUpload.s3Key))).toHaveLength(3);
    expect((await server.clientFor(coachB).jobs.get.query({ jobId: otherUpload.jobId })).status).toBe('completed');
  }, 60_000);
});

async function storedCompletedVideoFor(sessionId: string) {
  const owner = server.clientFor(coachB);
  const body = new Uint8Array(2048).fill(7);
  const upload = await owner.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength, includeFrames: true });
  expect((await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body })).status).toBe(200);
  await owner.upload.complete.mutate({ jobId: upload.jobId });
  await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 1 });
  await server.storage.putObject(`${folderOf(upload.s3Key)}frames/000000.jpg`, 'jpeg', 'image/jpeg');
  await server.storage.putObject(`${folderOf(upload.s3Key)}analysis/metrics.json`, '{}', 'application/json');
  return upload;
}

describe('a deletion interrupted half-way', () => {
  it('resumes after a failed batch and leaves nothing behind', async () => {
    const { sessionId } = await client.sessions.create.mutate({ title: 'Failing', playerIds: [] });
    const video = await storedCompletedVideo(sessionId, 9);
    await client.jobs.delete.mutate({ jobId: video.jobId });

    faults.deletesBeforeFailure = 2;
    try {
      expect(await sweep({ deletionBatchSize: 2 })).toMatchObject({ deletionFailures: 1, deletionsDone: 0 });
    } finally {
      faults.deletesBeforeFailure = Infinity;
    }
    // Half-way: some objects went, the rest are still there, the row says why and stays pending.
    const left = await storedUnder(folderOf(video.s3Key));
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(11);
    const [pending] = await listPendingDeletions(server.db);
    expect(pending).toMatchObject({ jobId: video.jobId, lastError: 'injected: batch delete failed', objectsDeleted: 4 });

    expect(await sweep({ deletionBatchSize: 2 })).toMatchObject({ deletionsDone: 1 });
    expect(await storedUnder(folderOf(video.s3Key))).toEqual([]);
    expect(await listPendingDeletions(server.db)).toEqual([]);
  });

  it('resumes after a pass that died holding its claim, once the claim lapses', async () => {
    const { sessionId } = await client.sessions.create.mutate({ title: 'Dying', playerIds: [] });
    const video = await storedCompletedVideo(sessionId, 9);
    await client.jobs.delete.mutate({ jobId: video.jobId });

    faults.deletesBeforeHang = 1;
    // This pass never returns: like a worker killed mid-deletion, it records nothing.
    void sweep({ deletionBatchSize: 3 });
    const folder = folderOf(video.s3Key);
    await waitFor(async () => (await storedUnder(folder)).length === 8, { what: 'the first batch deleted' });
    faults.deletesBeforeHang = Infinity;

    // While its claim holds, nobody else takes the row.
    expect(await sweep()).toMatchObject({ deletionPasses: 0, deletionsDone: 0 });
    expect(await storedUnder(folder)).toHaveLength(8);
    await sql`update storage_deletions set claimed_until = now() - interval '1 second' where job_id = ${video.jobId}`.execute(
      server.db,
    );
    expect(await sweep()).toMatchObject({ deletionsDone: 1, objectsDeleted: 8 });
    expect(await storedUnder(folder)).toEqual([]);
  });
});

describe('deleting a job being analysed', () => {
  it('stops the analysis: no result, no metrics.json, and nothing in storage once the deletion is done', async () => {
    const log = memoryLogger('info');
    const worker = await startTestWorker(server, {
      env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600', WORKER_LEASE_SECONDS: '5' },
      logger: log.logger,
    });
    try {
      let open = () => {};
      const reached = new Promise<void>((resolve) => {
        faults.frameGate = { reached: resolve, open: new Promise<void>((release) => (open = release)) };
      });
      const video = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'person.mp4'), seconds: 2, fps: 25 });
      const body = await readFile(video);
      const { sessionId } = await client.sessions.create.mutate({ title: 'Analysing', playerIds: ['p1'] });
      const upload = await client.upload.initiate.mutate({
        sessionId,
        sizeBytes: body.byteLength,
        sampleFps: 5,
        includeFrames: true,
      });
      expect((await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body })).status).toBe(200);
      await client.upload.complete.mutate({ jobId: upload.jobId });

      // The analysis is storing its first frame when the job is deleted.
      await reached;
      await client.jobs.delete.mutate({ jobId: upload.jobId });
      // The first pass empties what is there but cannot be the last: the worker's lease has not expired.
      expect(await sweep()).toMatchObject({ deletionPasses: 1, deletionsDone: 0 });
      open();

      const stopped = await waitFor(
        () => parsedLines(log.lines).find((line) => line.msg === 'lease lost; stopped without writing'),
        { timeoutMs: 60_000, what: 'the worker to stop the analysis' },
      );
      expect(stopped).toBeDefined();
      const stoppedAt = Date.now();
      // Passes repeat until one begins after the lease the worker held.
      await waitFor(async () => (await sweep()).deletionsDone === 1, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'the deletion to end',
      });

      const folder = folderOf(upload.s3Key);
      expect(await storedUnder(folder)).toEqual([]);
      const job = await findJob(server.db, { jobId: upload.jobId });
      expect(job).toMatchObject({ status: 'deleted', result: null, leaseToken: null });
      const ours = puts.filter((p) => p.key.startsWith(folder));
      expect(ours.some((p) => p.key.endsWith('metrics.json'))).toBe(false);
      expect(ours.filter((p) => p.at > stoppedAt)).toEqual([]);
      await worker.stop();
      expect(await storedUnder(folder)).toEqual([]);
    } finally {
      await worker.stop();
    }
  }, 120_000);

  it('drops an analysis message of a job deleted before a worker received it', async () => {
    const log = memoryLogger('info');
    const body = new Uint8Array(2048).fill(7);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Queued', playerIds: [] });
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength });
    expect((await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body })).status).toBe(200);
    const completed = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(completed.sqsMessageId).not.toBeNull();
    await client.jobs.delete.mutate({ jobId: upload.jobId });

    const worker = await startTestWorker(server, { env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600' }, logger: log.logger });
    try {
      await waitFor(() => parsedLines(log.lines).find((line) => line.msg === 'analysis message for a deleted job; dropped'), {
        timeoutMs: 30_000,
        what: 'the message to be dropped',
      });
      expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('deleted');
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
