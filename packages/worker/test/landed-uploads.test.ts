import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue } from '@coach/aws';
import { findJob, sql } from '@coach/db';
import { silentLogger, startOutboxRelay, type OutboxRelay } from '@coach/jobs';
import { videoFromImage } from '@coach/media/testing';
import { createUploadEventHandler, sweepOnce, type SweeperOptions, type Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

const MIB = 1024 ** 2;
const MAX_UPLOAD_BYTES = 50 * MIB;

let server: TestServer;
let worker: Worker;
let relay: OutboxRelay;
let uploadEventsUrl: string;
let dir: string;
let video: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'landed-uploads-'));
  video = await readFile(
    await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'person.mp4'), seconds: 1, fps: 10 }),
  );
  server = await startTestServer({
    config: { maxUploadBytes: MAX_UPLOAD_BYTES, multipartThresholdBytes: 6 * MIB, multipartPartSizeBytes: 5 * MIB },
  });
  const created = await server.sqs.send(new CreateQueueCommand({ QueueName: `upload-events-${crypto.randomUUID()}` }));
  uploadEventsUrl = `${server.endpoint}${new URL(created.QueueUrl ?? '').pathname}`;
  // The API process's relay sends what the worker writes to the outbox, as in production.
  relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 50 });
  worker = await startTestWorker(server, {
    uploadEvents: createSqsQueue({ sqs: server.sqs, queueUrl: uploadEventsUrl }),
    // The test runs each sweep itself.
    env: { WORKER_SWEEP_INTERVAL_SECONDS: '3600', MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
  });
}, 120_000);

afterAll(async () => {
  await worker.stop();
  await relay.stop();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const sweepOptions = (): SweeperOptions => ({
  db: server.db,
  storage: server.storage,
  logger: silentLogger,
  maxUploadBytes: MAX_UPLOAD_BYTES,
  uploadGraceSeconds: 60,
  abandonedGraceSeconds: 30,
  staleQueuedSeconds: 600,
  maxAttempts: 3,
});

const client = () => server.clientFor(coachA);

async function initiate(sizeBytes: number) {
  const { sessionId } = await client().sessions.create.mutate({ title: 'Nets', playerIds: [] });
  return client().upload.initiate.mutate({ sessionId, sizeBytes, sampleFps: 2 });
}

/** A single PUT of the test video that lands; the app never calls upload.complete. */
async function landedVideo() {
  const upload = await initiate(video.byteLength);
  const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: video });
  expect(put.status).toBe(200);
  return upload;
}

/** Moves an upload's deadline (plus the sweeper's grace) into the past: the clock the sweeper reads is the database's. */
const overdue = (jobId: string) =>
  sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 hours' where id = ${jobId}`.execute(server.db);

/** The notification S3 sends for a created object, as documented: the key URL-encoded, `+` for a space. */
function s3Notification(key: string, size: number, eventName = 'ObjectCreated:Put') {
  const encodedKey = key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
        requestParameters: { sourceIPAddress: '203.0.113.7' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'upload-events',
          bucket: {
            name: server.bucket,
            ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
            arn: `arn:aws:s3:::${server.bucket}`,
          },
          object: { key: encodedKey, size, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
        },
      },
    ],
  });
}

const notify = (body: string) => server.sqs.send(new SendMessageCommand({ QueueUrl: uploadEventsUrl, MessageBody: body }));

/** True once every notification sent was handled and deleted. */
async function uploadEventsHandled(): Promise<boolean> {
  const { Attributes } = await server.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: uploadEventsUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0;
}

const analysed = (jobId: string) =>
  waitFor(
    async () => {
      const job = await findJob(server.db, { jobId });
      return job && ['completed', 'failed'].includes(job.status) ? job : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100, what: `job ${jobId} to be analysed` },
  );

const outboxKeys = async (jobId: string) =>
  (await server.db.selectFrom('outboxMessages').select('dedupeKey').where('jobId', '=', jobId).execute()).map((r) => r.dedupeKey);

describe('uploads whose bytes landed without upload.complete', () => {
  it('a single PUT is analysed after one sweep, and a later client complete answers the same job and message id', async () => {
    const upload = await landedVideo();
    await overdue(upload.jobId);

    const report = await sweepOnce(sweepOptions());
    expect(report).toMatchObject({ expired: 0, completedUploads: 1, rejectedUploads: 0 });
    const job = await analysed(upload.jobId);
    expect(job).toMatchObject({ status: 'completed', attempts: 1, sizeBytes: video.byteLength });
    expect(await server.storage.head(upload.s3Key)).toBeDefined();

    const answer = await client().upload.complete.mutate({ jobId: upload.jobId });
    expect(answer).toMatchObject({ jobId: upload.jobId, status: 'completed', sqsMessageId: job.sqsMessageId });
    expect(job.sqsMessageId).toBeTruthy();
    expect(await outboxKeys(upload.jobId)).toEqual([`analysis:${upload.jobId}`]);
  }, 120_000);

  it('a single PUT is analysed within seconds of its S3 notification; the test event and analysis objects are ignored', async () => {
    const upload = await landedVideo();
    await notify(
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: new Date().toISOString(),
        Bucket: server.bucket,
        RequestId: '5582815E1AEA5ADF',
        HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
      }),
    );
    await notify(s3Notification(upload.s3Key.replace(/original\.mp4$/, 'frames/000001.jpg'), 10));
    await notify(s3Notification(upload.s3Key, video.byteLength));

    const job = await analysed(upload.jobId);
    expect(job).toMatchObject({ status: 'completed', attempts: 1 });
    await waitFor(uploadEventsHandled, { what: 'the notifications to be handled' });

    const answer = await client().upload.complete.mutate({ jobId: upload.jobId });
    expect(answer).toMatchObject({ jobId: upload.jobId, status: 'completed', sqsMessageId: job.sqsMessageId });
    expect(await outboxKeys(upload.jobId)).toEqual([`analysis:${upload.jobId}`]);
  }, 120_000);

  it('a landed object that fails the checks is rejected (by the sweeper or a notification), never expired', async () => {
    const bySweep = await initiate(4);
    const byNotification = await initiate(4);
    // Not what was declared: 5 bytes for 4 (written past the signed URL, as a misbehaving uploader could).
    for (const upload of [bySweep, byNotification]) await server.storage.putObject(upload.s3Key, 'hello', 'video/mp4');

    await notify(s3Notification(byNotification.s3Key, 5));
    await waitFor(async () => (await findJob(server.db, { jobId: byNotification.jobId }))?.status === 'rejected', {
      what: 'the notified upload to be rejected',
    });
    await overdue(bySweep.jobId);
    await overdue(byNotification.jobId);
    const report = await sweepOnce(sweepOptions());
    expect(report).toMatchObject({ expired: 0, rejectedUploads: 1 });

    for (const upload of [bySweep, byNotification]) {
      expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({
        status: 'rejected',
        errorCode: 'SIZE_MISMATCH',
        sizeBytes: 5,
      });
      await expect(client().upload.complete.mutate({ jobId: upload.jobId })).rejects.toMatchObject({
        data: { appCode: 'UPLOAD_REJECTED' },
      });
      expect(await outboxKeys(upload.jobId)).toEqual([]);
    }
  });

  it('an overdue multipart upload whose planned parts are all recorded is assembled and queued, not expired', async () => {
    const sizeBytes = 7 * MIB;
    const upload = await initiate(sizeBytes);
    expect(upload.uploadMode).toBe('multipart');
    const body = new Uint8Array(sizeBytes);
    const { parts } = await client().upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1, 2] });
    const recorded = [];
    for (const part of parts) {
      const start = (part.partNumber - 1) * 5 * MIB;
      const res = await fetch(part.url, { method: 'PUT', body: body.subarray(start, start + part.sizeBytes) });
      expect(res.status).toBe(200);
      recorded.push({ partNumber: part.partNumber, etag: res.headers.get('etag') ?? '' });
    }
    await client().upload.recordParts.mutate({ jobId: upload.jobId, parts: recorded });
    await overdue(upload.jobId);

    const report = await sweepOnce(sweepOptions());
    expect(report).toMatchObject({ expired: 0, completedUploads: 1 });
    expect(await server.storage.head(upload.s3Key)).toMatchObject({ sizeBytes });
    // Zeros are no video: the analysis fails it, which proves it was queued and analysed rather than expired.
    expect(await analysed(upload.jobId)).toMatchObject({ status: 'failed', errorCode: 'NOT_A_VIDEO' });
    expect(await outboxKeys(upload.jobId)).toEqual([`analysis:${upload.jobId}`]);
  }, 120_000);

  it('a notification it cannot act on now is retried later; one that is no S3 notification is dropped', async () => {
    const upload = await landedVideo();
    const context = { signal: new AbortController().signal, extendVisibility: async () => {} };
    const message = (body: string) => ({ messageId: crypto.randomUUID(), receiptHandle: 'direct', body, receiveCount: 1 });
    const unreachable = createUploadEventHandler({
      ...sweepOptions(),
      storage: { ...server.storage, head: () => Promise.reject(new Error('injected: storage unreachable')) },
    });
    expect(await unreachable(message(s3Notification(upload.s3Key, video.byteLength)), context)).toEqual({
      kind: 'retry',
      delaySeconds: 30,
    });
    expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('awaiting_upload');
    const handler = createUploadEventHandler(sweepOptions());
    for (const body of ['not json', '{"Records":"nope"}', JSON.stringify({ Event: 's3:TestEvent' })]) {
      expect(await handler(message(body), context)).toEqual({ kind: 'delete' });
    }
    expect(await handler(message(s3Notification(upload.s3Key, video.byteLength)), context)).toEqual({ kind: 'delete' });
    expect(await analysed(upload.jobId)).toMatchObject({ status: 'completed' });
  }, 120_000);

  it('an overdue upload with nothing in storage still expires', async () => {
    const upload = await initiate(4);
    await overdue(upload.jobId);
    const report = await sweepOnce(sweepOptions());
    expect(report).toMatchObject({ expired: 1, completedUploads: 0, rejectedUploads: 0 });
    expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({ status: 'expired', errorCode: 'UPLOAD_EXPIRED' });
  });

  it('notification, sweeper and client completing at once yield one job transition and one message', async () => {
    // The worker's own consumer receives the notification after a long-poll hop; this handler
    // (the same code, on its own connection) takes the notification at the same instant as the others.
    const handleNotification = createUploadEventHandler(sweepOptions());
    const handlerContext = { signal: new AbortController().signal, extendVisibility: async () => {} };
    for (let round = 0; round < 3; round++) {
      const upload = await landedVideo();
      await overdue(upload.jobId);
      const body = s3Notification(upload.s3Key, video.byteLength);
      const [answer, handled] = await Promise.all([
        client().upload.complete.mutate({ jobId: upload.jobId }),
        handleNotification({ messageId: `race-${round}`, receiptHandle: 'race', body, receiveCount: 1 }, handlerContext),
        notify(body),
        sweepOnce(sweepOptions()),
        sweepOnce(sweepOptions()),
      ]);
      expect(handled).toEqual({ kind: 'delete' });
      const job = await analysed(upload.jobId);
      await waitFor(uploadEventsHandled, { what: 'the notification to be handled' });
      expect(job).toMatchObject({ status: 'completed', attempts: 1 });
      expect(answer.jobId).toBe(upload.jobId);
      expect(await outboxKeys(upload.jobId)).toEqual([`analysis:${upload.jobId}`]);
      const later = await client().upload.complete.mutate({ jobId: upload.jobId });
      expect(later.sqsMessageId).toBe(job.sqsMessageId);
      if (answer.sqsMessageId) expect(answer.sqsMessageId).toBe(job.sqsMessageId);
    }
  }, 240_000);
});
