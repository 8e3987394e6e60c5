import { randomBytes } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

import { createAwsClients, createS3Storage, createSqsQueue } from '@coach/aws';
import { findJob, findOutboxMessage } from '@coach/db';

import { startGatewayStorage, type GatewayStorage } from '../../../test/helpers/gateway-storage.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { memoryLogger, parsedLines } from '../../../test/helpers/memory-log.ts';
import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';
import { switchableQueue, switchableStorage } from '../../../test/helpers/switchable.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

const endpoint = () => inject('awsEndpoint');
const clients = createAwsClients({
  region: TEST_REGION,
  endpoint: inject('awsEndpoint'),
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
afterAll(() => clients.destroy());

let storageSwitch: ReturnType<typeof switchableStorage>;
let queueSwitch: ReturnType<typeof switchableQueue>;
let server: TestServer;
const log = memoryLogger('info');

beforeAll(async () => {
  server = await startTestServer({
    logger: log.logger,
    wrapStorage: (real) => (storageSwitch = switchableStorage(real)).storage,
    wrapQueue: (real) => (queueSwitch = switchableQueue(real)).queue,
  });
});
afterAll(() => server.close());
afterEach(() => {
  storageSwitch.restore();
  queueSwitch.restore();
});

interface ErrorBody {
  error: { message: string; data: { appCode: string; httpStatus: number } };
}

async function call(procedure: string, input: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.trpcUrl}/${procedure}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await server.tokenFor(coachA)}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: await response.json() };
}

/** A single-PUT upload whose bytes really arrived in the server's bucket, not yet completed. */
async function landedUpload(): Promise<string> {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Misconfigured', playerIds: [] });
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 4 });
  const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(4) });
  expect(put.status).toBe(200);
  return upload.jobId;
}

const readiness = async () => (await fetch(`${server.url}/readyz`)).status;

/** What the caller sees carries our words only: no AWS error names, bucket or queue. */
function expectNoAwsText(body: unknown, names: string[]) {
  const text = JSON.stringify(body);
  for (const word of ['NoSuchBucket', 'NotFound', 'AccessDenied', 'QueueDoesNotExist', 'NonExistentQueue', ...names]) {
    expect(text).not.toContain(word);
  }
}

describe('a bucket that does not exist', () => {
  it('upload.complete and upload.abort answer 503 STORAGE_UNAVAILABLE, change nothing, and the log names the setting', async () => {
    const jobId = await landedUpload();
    const missing = `missing-bucket-${randomBytes(4).toString('hex')}`;
    storageSwitch.use(
      createS3Storage({
        s3: clients.s3,
        signer: clients.s3Signer,
        bucket: missing,
        describedAs: { setting: 'S3_COACH_VIDEOS_BUCKET', endpoint: endpoint() },
      }),
    );

    const complete = await call('upload.complete', { jobId });
    expect(complete.status).toBe(503);
    expect((complete.body as ErrorBody).error.data.appCode).toBe('STORAGE_UNAVAILABLE');
    expect((complete.body as ErrorBody).error.message).toMatch(/try again later/);
    expectNoAwsText(complete.body, [missing]);

    const abort = await call('upload.abort', { jobId });
    expect(abort.status).toBe(503);
    expect((abort.body as ErrorBody).error.data.appCode).toBe('STORAGE_UNAVAILABLE');
    expect((await findJob(server.db, { jobId }))?.status).toBe('awaiting_upload');
    expect(await readiness()).toBe(503);
    expect(parsedLines(log.lines).map((l) => l.msg)).toContain(
      `S3_COACH_VIDEOS_BUCKET: bucket ${missing} does not exist at ${endpoint()}`,
    );

    // Once the setting is right again, the file that arrived is completed as if nothing happened.
    storageSwitch.restore();
    const fixed = await call('upload.complete', { jobId });
    expect(fixed.status).toBe(200);
    expect((await findJob(server.db, { jobId }))?.status).toBe('queued');
    expect(await readiness()).toBe(200);
  });
});

describe('an analysis queue that does not exist', () => {
  it('upload.complete answers 503 QUEUE_UNAVAILABLE, keeps the upload queued for the relay, and the log names the setting', async () => {
    const jobId = await landedUpload();
    const missingUrl = `${endpoint()}/000000000000/missing-queue-${randomBytes(4).toString('hex')}`;
    queueSwitch.use(createSqsQueue({ sqs: clients.sqs, queueUrl: missingUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' }));

    for (let attempt = 0; attempt < 2; attempt++) {
      const complete = await call('upload.complete', { jobId });
      expect(complete.status).toBe(503);
      expect((complete.body as ErrorBody).error.data.appCode).toBe('QUEUE_UNAVAILABLE');
      expect((complete.body as ErrorBody).error.message).toMatch(/upload is kept/);
      expectNoAwsText(complete.body, [missingUrl, 'missing-queue']);
    }
    // The upload is verified and its message waits in the outbox: nothing is lost.
    expect((await findJob(server.db, { jobId }))?.status).toBe('queued');
    expect((await findOutboxMessage(server.db, { dedupeKey: `analysis:${jobId}` }))?.sentAt).toBeNull();
    expect(await readiness()).toBe(503);
    expect(parsedLines(log.lines).map((l) => l.msg)).toContain(
      `outbox send failed: SQS_VIDEO_ANALYSIS_QUEUE_URL: queue ${missingUrl} does not exist`,
    );

    queueSwitch.restore();
    const fixed = await call('upload.complete', { jobId });
    expect(fixed.status).toBe(200);
    expect((fixed.body as { result: { data: { sqsMessageId: string | null } } }).result.data.sqsMessageId).toEqual(
      expect.any(String),
    );
  });
});

describe('storage that refuses the server', () => {
  let gateway: GatewayStorage;
  afterAll(() => gateway.close());

  it('upload.complete and upload.abort answer 503 STORAGE_UNAVAILABLE and the log says access was denied', async () => {
    // The SigV4 gateway honours only its own credential; the server's calls carry another.
    gateway = await startGatewayStorage({ accessKeyId: 'gateway-key', secretAccessKey: 'gateway-secret', now: () => new Date() });
    const denied = createAwsClients({
      region: TEST_REGION,
      endpoint: gateway.gateway.url,
      credentials: { accessKeyId: 'wrong-key', secretAccessKey: 'wrong-secret' },
      maxAttempts: 1,
    });
    try {
      const jobId = await landedUpload();
      storageSwitch.use(
        createS3Storage({
          s3: denied.s3,
          signer: denied.s3Signer,
          bucket: server.bucket,
          describedAs: { setting: 'S3_COACH_VIDEOS_BUCKET', endpoint: gateway.gateway.url },
        }),
      );
      for (const procedure of ['upload.complete', 'upload.abort']) {
        const answer = await call(procedure, { jobId });
        expect(answer.status).toBe(503);
        expect((answer.body as ErrorBody).error.data.appCode).toBe('STORAGE_UNAVAILABLE');
        expectNoAwsText(answer.body, [server.bucket]);
      }
      expect((await findJob(server.db, { jobId }))?.status).toBe('awaiting_upload');
      expect(await readiness()).toBe(503);
      expect(parsedLines(log.lines).map((l) => l.msg)).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^S3_COACH_VIDEOS_BUCKET: access to bucket ${server.bucket} at ${gateway.gateway.url} was denied \\(\\w+\\)`,
          ),
        ),
      );
    } finally {
      denied.destroy();
    }
  });
});
