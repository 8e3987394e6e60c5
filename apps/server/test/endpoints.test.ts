import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

import { signDevToken } from '@coach/api';
import { createAwsClients, type AwsClients } from '@coach/aws';
import { createClient } from '@coach/client';
import { findFreePort, startLocalAws, type LocalAws, type LocalQueue } from '@coach/local-stack';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { TEST_REGION } from '../../../test/helpers/server.ts';
import { startSigV4Gateway, type SigV4Gateway } from '../../../test/helpers/sigv4-gateway.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

const credentials = { accessKeyId: 'endpoints-key', secretAccessKey: 'endpoints-secret' };
const JWT_SECRET = randomBytes(32).toString('hex');

/** S3 is the run's emulator; SQS is a second emulator on another port, which has no bucket. */
let sqsServer: LocalAws;
let queues: LocalQueue;
/** The storage's public name: a SigV4-checking gateway in front of the S3 emulator, on its own port. */
let gateway: SigV4Gateway;
let s3: AwsClients;
let sqs: AwsClients;
let database: TestDatabase;
const bucket = `endpoints-${randomBytes(4).toString('hex')}`;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sqsServer = await startLocalAws({ region: TEST_REGION });
  queues = await sqsServer.createQueueWithDlq(`endpoints-${randomBytes(4).toString('hex')}`);
  s3 = createAwsClients({ region: TEST_REGION, endpoint: inject('awsEndpoint'), credentials });
  sqs = createAwsClients({ region: TEST_REGION, endpoint: sqsServer.endpoint, credentials });
  await s3.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  gateway = await startSigV4Gateway({
    upstream: inject('awsEndpoint'),
    region: TEST_REGION,
    credentials: { [credentials.accessKeyId]: credentials.secretAccessKey },
  });
  database = await createTestDatabase();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await database?.drop();
  await gateway?.close();
  s3?.destroy();
  sqs?.destroy();
  await sqsServer?.stop();
});

/** The real server entry point as its own process, configured only through its environment. */
function spawnServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: database.url,
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AUTH_JWT_SECRET: JWT_SECRET,
      HOST: '127.0.0.1',
      PORT: '0',
      WORKER_IN_PROCESS: 'false',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const address = /API ready at (http:\/\/[^\s"]+)\/trpc/.exec(stdout)?.[1];
      if (address) resolve(address);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { ready, exited };
}

describe('S3 and SQS on different endpoints, presigned URLs for a public one', () => {
  it('an upload flows: URLs name the public host and a PUT through it lands; the message goes to the SQS endpoint', async () => {
    const server = spawnServer({
      AWS_ENDPOINT_URL_S3: inject('awsEndpoint'),
      AWS_ENDPOINT_URL_SQS: sqsServer.endpoint,
      S3_PUBLIC_ENDPOINT_URL: gateway.url,
      S3_COACH_VIDEOS_BUCKET: bucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: queues.queueUrl,
    });
    const address = await server.ready;
    const token = await signDevToken(JWT_SECRET, { userId: coachA.userId, role: coachA.role });
    const client = createClient({ url: `${address}/trpc`, token: () => token });

    const { sessionId } = await client.sessions.create.mutate({ title: 'Two endpoints', playerIds: [] });
    const body = new Uint8Array(2048).fill(7);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength });
    const url = new URL(putUrl(upload));
    expect(url.origin).toBe(gateway.url);

    const put = await fetch(url, { method: 'PUT', headers: upload.headers, body });
    expect(put.status).toBe(200);
    // The gateway checked the signature for its own host and passed the PUT on.
    expect(gateway.records.at(-1)).toMatchObject({ method: 'PUT', forwarded: true });

    // The server's own HEAD reaches the internal endpoint, and its message the SQS one.
    const completed = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(completed.status).toBe('queued');
    expect(completed.sqsMessageId).toEqual(expect.any(String));
    const received = await sqs.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 0 }));
    expect(received.Messages?.map((m) => m.MessageId)).toEqual([completed.sqsMessageId]);
  }, 60_000);
});

/** This machine's address on its network, as a phone on the same network would reach it. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a?.family === 'IPv4' && !a.internal)?.address;

describe('the embedded stack for a phone on the LAN', () => {
  // Needs a network interface besides loopback (CI machines and laptops have one).
  it.skipIf(!lanAddress)(
    'presigned URLs name the LAN address, where the emulator answers a PUT',
    async () => {
      const port = await findFreePort();
      const publicEndpoint = `http://${lanAddress}:${port}`;
      const server = spawnServer({ HOST: '0.0.0.0', S3_PUBLIC_ENDPOINT_URL: publicEndpoint });
      const address = await server.ready;
      const token = await signDevToken(JWT_SECRET, { userId: coachA.userId, role: coachA.role });
      // The API too, by the address a phone would use.
      const client = createClient({ url: `${address.replace('0.0.0.0', lanAddress ?? '')}/trpc`, token: () => token });
      const { sessionId } = await client.sessions.create.mutate({ title: 'Phone', playerIds: [] });
      const body = new Uint8Array(1024).fill(3);
      const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength });
      expect(new URL(putUrl(upload)).origin).toBe(publicEndpoint);
      const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body });
      expect(put.status).toBe(200);
      expect((await client.upload.complete.mutate({ jobId: upload.jobId })).status).toBe('queued');
    },
    60_000,
  );
});

describe('production start-up', () => {
  it('exits with a message naming each missing bucket or queue', async () => {
    const missingBucket = `missing-${randomBytes(4).toString('hex')}`;
    const missingQueue = `${sqsServer.endpoint}/000000000000/missing-${randomBytes(4).toString('hex')}`;
    const server = spawnServer({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      AWS_ENDPOINT_URL_S3: inject('awsEndpoint'),
      AWS_ENDPOINT_URL_SQS: sqsServer.endpoint,
      S3_COACH_VIDEOS_BUCKET: missingBucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: missingQueue,
    });
    server.ready.catch(() => {});
    const { code, stderr } = await server.exited;
    expect(code).toBe(1);
    expect(stderr).toContain(`S3_COACH_VIDEOS_BUCKET: bucket ${missingBucket} does not exist at ${inject('awsEndpoint')}`);
    expect(stderr).toContain(`SQS_VIDEO_ANALYSIS_QUEUE_URL: queue ${missingQueue} does not exist`);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 60_000);

  it('exits naming the bucket when the credentials are refused', async () => {
    const server = spawnServer({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      // The gateway honours presigned URLs only: every call this process signs itself is refused.
      AWS_ENDPOINT_URL_S3: gateway.url,
      AWS_ENDPOINT_URL_SQS: sqsServer.endpoint,
      S3_COACH_VIDEOS_BUCKET: bucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: queues.queueUrl,
    });
    server.ready.catch(() => {});
    const { code, stderr } = await server.exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`S3_COACH_VIDEOS_BUCKET: access to bucket ${bucket} at ${gateway.url} was denied`));
    expect(stderr).not.toContain('SQS_VIDEO_ANALYSIS_QUEUE_URL');
  }, 60_000);
});
