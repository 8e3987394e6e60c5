/**
 * Presigned URLs judged the way S3 judges them. The emulator checks no
 * signature, so the server signs its URLs for a gateway that verifies SigV4
 * (independently of the SDK), expiry and create-only PUTs before forwarding
 * to the emulator. Honest uploads must pass; every tampered request must be
 * refused with nothing reaching the bucket.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Identity } from '@coach/api';
import { createClient, errorCodeOf, uploadVideo, type ApiClient } from '@coach/client';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { startGatewayStorage, type GatewayStorage } from '../../../test/helpers/gateway-storage.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { recordScenario } from '../../../test/helpers/reliability.ts';
import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';
import type { GatewayRecord, SigV4Gateway } from '../../../test/helpers/sigv4-gateway.ts';

const MIB = 1024 * 1024;
const ACCESS_KEY_ID = 'AKIAGATEWAYTEST00001';
const SECRET_ACCESS_KEY = randomBytes(30).toString('base64');

let gateway: SigV4Gateway;
let gatewayStorage: GatewayStorage | undefined;
let server: TestServer;
/** Moves the gateway's clock (never the server's). */
let clockOffsetMs = 0;

const api = { requests: 0, http5xx: 0 };
/** Jobs queued by honest uploads, and the analysis messages that arrived for them. */
const queued = { jobs: 0, messages: 0 };

/** Drains the queue and expects exactly one message, for exactly these jobs. */
async function expectQueuedOnce(jobIds: string[]) {
  const messages = await server.drainQueue();
  queued.jobs += jobIds.length;
  queued.messages += messages.length;
  expect(
    messages.map((m) => (JSON.parse(m.Body ?? '{}') as { job_id: string }).job_id).sort((a, b) => a.localeCompare(b)),
  ).toEqual([...jobIds].sort((a, b) => a.localeCompare(b)));
}
const countingFetch: typeof fetch = async (input, init) => {
  api.requests += 1;
  const response = await fetch(input, init);
  if (response.status >= 500) api.http5xx += 1;
  return response;
};
const clients = new Map<string, ApiClient>();
function clientFor(identity: Identity): ApiClient {
  let client = clients.get(identity.userId);
  if (!client) {
    client = createClient({ url: server.trpcUrl, token: () => server.tokenFor(identity), fetch: countingFetch });
    clients.set(identity.userId, client);
  }
  return client;
}

beforeAll(async () => {
  gatewayStorage = await startGatewayStorage({
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    now: () => new Date(Date.now() + clockOffsetMs),
  });
  gateway = gatewayStorage.gateway;
  server = await startTestServer({
    // Small files go multipart too, so parts are exercised at test sizes (S3's minimum part is 5 MiB).
    config: { multipartThresholdBytes: 5 * MIB, multipartPartSizeBytes: 5 * MIB },
    // URLs are signed for the gateway; the server's own calls (HEAD, multipart) go straight to the emulator.
    wrapStorage: (real) => gatewayStorage?.signThroughGateway(real) ?? real,
  });
});

afterAll(async () => {
  const refused = gateway?.records.filter((r) => !r.forwarded).length ?? 0;
  await recordScenario({
    scenario: 'presigned URL tampering',
    scale: `${gateway?.records.length ?? 0} storage requests through a SigV4-checking gateway (${refused} refused)`,
    requests: api.requests,
    jobs: queued.jobs,
    messages: queued.messages,
    results: 0,
    // Checked: each honestly completed upload's job arrived on the queue exactly once.
    lost: 0,
    duplicated: 0,
    http5xx: api.http5xx,
    notes: 'jobs: uploads completed through the gateway; tampered uploads never reach the queue',
  });
  await server?.close();
  await gatewayStorage?.close();
});

interface PutAnswer {
  status: number;
  /** S3's error code from the XML body, if any. */
  code: string | undefined;
  etag: string | null;
  record: GatewayRecord | undefined;
}

async function send(url: string, init: RequestInit): Promise<PutAnswer> {
  const before = gateway.records.length;
  const response = await fetch(url, init);
  const text = await response.text();
  expect(gateway.records.length, 'the request went through the gateway').toBe(before + 1);
  return {
    status: response.status,
    code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1],
    etag: response.headers.get('etag'),
    record: gateway.records.at(-1),
  };
}

const put = (url: string, headers: Record<string, string>, body: Uint8Array | ReadableStream<Uint8Array>) =>
  send(url, { method: 'PUT', headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);

function expectRefused(answer: PutAnswer, status: number, code: string) {
  expect({ status: answer.status, code: answer.code }).toEqual({ status, code });
  expect(answer.record?.forwarded, 'a refused request never reaches storage').toBe(false);
}

const withParam = (url: string, name: string, value: string) => {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
};
const withPath = (url: string, pathname: string) => {
  const u = new URL(url);
  u.pathname = pathname;
  return u.toString();
};
/** The same URL with another key at the same place in the key layout. */
const withVideoId = (url: string, videoId: string) => {
  const u = new URL(url);
  const segments = u.pathname.split('/');
  segments.splice(-2, 1, videoId);
  u.pathname = segments.join('/');
  return u.toString();
};
const flipLastHex = (url: string) => {
  const signature = new URL(url).searchParams.get('X-Amz-Signature') ?? '';
  const last = signature.at(-1) === '0' ? '1' : '0';
  return withParam(url, 'X-Amz-Signature', `${signature.slice(0, -1)}${last}`);
};

async function storedBytes(key: string): Promise<Buffer | undefined> {
  const stream = await server.storage.getStream(key);
  return stream ? Buffer.from(await new Response(stream).arrayBuffer()) : undefined;
}

async function newSession(identity: Identity = coachA) {
  return (await clientFor(identity).sessions.create.mutate({ title: 'Gateway', playerIds: [] })).sessionId;
}

async function initiateSingle(identity: Identity, sizeBytes: number) {
  const upload = await clientFor(identity).upload.initiate.mutate({ sessionId: await newSession(identity), sizeBytes });
  expect(upload.uploadMode).toBe('single');
  if (!upload.presignedUrl) throw new Error('no presigned URL');
  expect(upload.presignedUrl.startsWith(`${gateway.url}/`)).toBe(true);
  // What the gateway holds the uploader to: the declared length, the type and create-only.
  expect(new URL(upload.presignedUrl).searchParams.get('X-Amz-SignedHeaders')).toBe(
    'content-length;content-type;host;if-none-match',
  );
  return { ...upload, url: upload.presignedUrl };
}

describe('the gateway judges SDK-signed URLs correctly', () => {
  const sdkSigner = (credentials: { accessKeyId: string; secretAccessKey: string }, region = TEST_REGION) =>
    new S3Client({
      region,
      endpoint: gateway.url,
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const presignPut = (client: S3Client, key: string) =>
    getSignedUrl(client, new PutObjectCommand({ Bucket: server.bucket, Key: key, ContentType: 'application/octet-stream' }), {
      expiresIn: 60,
      signableHeaders: new Set(['content-type']),
    });

  it('accepts a PUT and a GET signed by the SDK itself, even for a key that needs escaping', async () => {
    const client = sdkSigner({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    try {
      const key = `sdk-direct/${randomUUID()}/a b+c~d=é(1)*!'.bin`;
      const body = randomBytes(1000);
      const putAnswer = await put(await presignPut(client, key), { 'content-type': 'application/octet-stream' }, body);
      expect(putAnswer).toMatchObject({ status: 200, record: { forwarded: true } });
      expect(putAnswer.etag).toBeTruthy();
      expect((await storedBytes(key))?.equals(body)).toBe(true);

      const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: server.bucket, Key: key }), { expiresIn: 60 });
      const response = await fetch(getUrl);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it.each([
    [
      'the wrong secret',
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'not-the-secret' },
      TEST_REGION,
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'an unknown access key',
      { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: SECRET_ACCESS_KEY },
      TEST_REGION,
      403,
      'InvalidAccessKeyId',
    ],
    [
      'another region',
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      'eu-west-1',
      400,
      'AuthorizationQueryParametersError',
    ],
  ])('refuses a URL signed with %s, and stores nothing', async (_label, credentials, region, status, code) => {
    const client = sdkSigner(credentials, region);
    try {
      const key = `sdk-direct/${randomUUID()}.bin`;
      expectRefused(
        await put(await presignPut(client, key), { 'content-type': 'application/octet-stream' }, randomBytes(10)),
        status,
        code,
      );
      expect(await server.storage.head(key)).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('refuses unsigned requests, and header-signed ones (only presigned URLs are handed out)', async () => {
    const key = `sdk-direct/${randomUUID()}.bin`;
    expectRefused(await put(`${gateway.url}/${server.bucket}/${key}`, {}, randomBytes(10)), 403, 'AccessDenied');
    const direct = sdkSigner({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    try {
      const error = await direct
        .send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: randomBytes(10) }))
        .catch((e: unknown) => e);
      expect((error as { name?: string }).name).toBe('AccessDenied');
    } finally {
      direct.destroy();
    }
    expect(gateway.records.at(-1)).toMatchObject({ forwarded: false, code: 'AccessDenied' });
    expect(await server.storage.head(key)).toBeUndefined();
  });
});

describe('honest uploads through the gateway', () => {
  it('a single PUT by uploadVideo passes and upload.complete queues it', async () => {
    const bytes = randomBytes(200 * 1024);
    const sessionId = await newSession();
    const from = gateway.records.length;
    const result = await uploadVideo({
      client: clientFor(coachA),
      sessionId,
      file: new Blob([bytes], { type: 'video/mp4' }),
      retries: 0,
    });
    expect(result.status).toBe('queued');
    const puts = gateway.records.slice(from);
    expect(puts.map((r) => [r.method, r.forwarded, r.status])).toEqual([['PUT', true, 200]]);
    const job = await clientFor(coachA).jobs.get.query({ jobId: result.jobId });
    expect(puts[0]?.path).toBe(`/${server.bucket}/${job.s3Key}`);
    expect((await storedBytes(job.s3Key))?.equals(bytes)).toBe(true);
    await expectQueuedOnce([result.jobId]);
  });

  it('a multipart upload by uploadVideo passes part by part and upload.complete queues it', async () => {
    const bytes = randomBytes(6 * MIB + 123);
    const sessionId = await newSession();
    const from = gateway.records.length;
    const result = await uploadVideo({
      client: clientFor(coachA),
      sessionId,
      file: new Blob([bytes], { type: 'video/mp4' }),
      retries: 0,
    });
    expect(result.status).toBe('queued');
    const puts = gateway.records.slice(from);
    expect(
      puts
        .map((r) => [r.method, r.forwarded, r.status, r.query.get('partNumber')])
        .sort((a, b) => String(a).localeCompare(String(b))),
    ).toEqual([
      ['PUT', true, 200, '1'],
      ['PUT', true, 200, '2'],
    ]);
    const job = await clientFor(coachA).jobs.get.query({ jobId: result.jobId });
    expect((await storedBytes(job.s3Key))?.equals(bytes)).toBe(true);
    await expectQueuedOnce([result.jobId]);
  });
});

describe('a tampered single PUT is refused and stores nothing', () => {
  const SIZE = 4096;

  it.each<[string, (u: { url: string; headers: Record<string, string>; s3Key: string }) => Promise<PutAnswer>, number, string]>([
    [
      'another Content-Type',
      (u) => put(u.url, { ...u.headers, 'content-type': 'video/quicktime' }, randomBytes(SIZE)),
      403,
      'SignatureDoesNotMatch',
    ],
    ['a longer body than the signed length', (u) => put(u.url, u.headers, randomBytes(SIZE + 1)), 403, 'SignatureDoesNotMatch'],
    ['a shorter body than the signed length', (u) => put(u.url, u.headers, randomBytes(SIZE - 1)), 403, 'SignatureDoesNotMatch'],
    [
      'a streamed body without Content-Length',
      (u) => put(u.url, u.headers, new Blob([randomBytes(SIZE)]).stream()),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'no If-None-Match (an overwriting PUT)',
      (u) => put(u.url, { 'content-type': u.headers['content-type'] ?? '' }, randomBytes(SIZE)),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'If-None-Match naming an ETag',
      (u) => put(u.url, { ...u.headers, 'if-none-match': '"abc"' }, randomBytes(SIZE)),
      403,
      'SignatureDoesNotMatch',
    ],
    ['a tampered signature', (u) => put(flipLastHex(u.url), u.headers, randomBytes(SIZE)), 403, 'SignatureDoesNotMatch'],
    [
      'a longer X-Amz-Expires',
      (u) => put(withParam(u.url, 'X-Amz-Expires', '604800'), u.headers, randomBytes(SIZE)),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'an unsigned x-amz-acl header',
      (u) => put(u.url, { ...u.headers, 'x-amz-acl': 'public-read' }, randomBytes(SIZE)),
      403,
      'AccessDenied',
    ],
  ])('%s', async (_label, tamper, status, code) => {
    const upload = await initiateSingle(coachA, SIZE);
    expectRefused(await tamper(upload), status, code);
    expect(await server.storage.head(upload.s3Key)).toBeUndefined();
    const error = await clientFor(coachA)
      .upload.complete.mutate({ jobId: upload.jobId })
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_NOT_FOUND');
    // The URL itself was good: sent as issued, it stores the file.
    const honest = randomBytes(SIZE);
    expect(await put(upload.url, upload.headers, honest)).toMatchObject({ status: 200, record: { forwarded: true } });
    expect((await storedBytes(upload.s3Key))?.equals(honest)).toBe(true);
  });

  it('the signature does not carry over to another key, in the same session or under another owner', async () => {
    const mine = await initiateSingle(coachA, SIZE);
    const theirs = await initiateSingle(coachB, SIZE);
    const otherVideo = withVideoId(mine.url, randomUUID());
    expectRefused(await put(otherVideo, mine.headers, randomBytes(SIZE)), 403, 'SignatureDoesNotMatch');
    expect(
      await server.storage.head(decodeURIComponent(new URL(otherVideo).pathname).slice(server.bucket.length + 2)),
    ).toBeUndefined();

    // coach A's signature on coach B's key (another owner's prefix).
    const intoTheirPrefix = withPath(mine.url, new URL(theirs.url).pathname);
    expect(intoTheirPrefix).toContain('/coach-b/');
    expectRefused(await put(intoTheirPrefix, mine.headers, randomBytes(SIZE)), 403, 'SignatureDoesNotMatch');
    expect(await server.storage.head(theirs.s3Key)).toBeUndefined();
    expect(await server.storage.head(mine.s3Key)).toBeUndefined();
  });

  it('an upload cannot be replaced once stored: the same URL again is 412, and the verified bytes stay', async () => {
    const upload = await initiateSingle(coachA, SIZE);
    const original = randomBytes(SIZE);
    expect((await put(upload.url, upload.headers, original)).status).toBe(200);
    await expect(clientFor(coachA).upload.complete.mutate({ jobId: upload.jobId })).resolves.toMatchObject({ status: 'queued' });

    expectRefused(await put(upload.url, upload.headers, randomBytes(SIZE)), 412, 'PreconditionFailed');
    expect((await storedBytes(upload.s3Key))?.equals(original)).toBe(true);
    const etag = (await server.storage.head(upload.s3Key))?.etag;
    expect(
      (await server.db.selectFrom('videoAnalysisJobs').select('etag').where('id', '=', upload.jobId).executeTakeFirst())?.etag,
    ).toBe(etag);
    await expectQueuedOnce([upload.jobId]);
  });

  it('refuses an expired URL and one not valid yet, storing nothing', async () => {
    const upload = await initiateSingle(coachA, SIZE);
    try {
      clockOffsetMs = (server.config.uploadUrlExpiresSeconds + 5) * 1000;
      const expired = await send(upload.url, { method: 'PUT', headers: upload.headers, body: randomBytes(SIZE) });
      expectRefused(expired, 403, 'AccessDenied');
      clockOffsetMs = -20 * 60 * 1000;
      expectRefused(await put(upload.url, upload.headers, randomBytes(SIZE)), 403, 'AccessDenied');
    } finally {
      clockOffsetMs = 0;
    }
    expect(await server.storage.head(upload.s3Key)).toBeUndefined();
    // Just inside the window, it works.
    clockOffsetMs = (server.config.uploadUrlExpiresSeconds - 5) * 1000;
    try {
      expect((await put(upload.url, upload.headers, randomBytes(SIZE))).status).toBe(200);
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('a tampered part PUT is refused and stores nothing', () => {
  it('refuses a part URL reused for another part, another upload or another length, and an expired one', async () => {
    const client = clientFor(coachA);
    const bytes = randomBytes(6 * MIB);
    const upload = await client.upload.initiate.mutate({ sessionId: await newSession(), sizeBytes: bytes.length });
    const other = await client.upload.initiate.mutate({ sessionId: await newSession(), sizeBytes: bytes.length });
    expect(upload.multipart).toEqual({ partSizeBytes: 5 * MIB, partCount: 2 });
    const { parts } = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1, 2] });
    const { parts: otherParts } = await client.upload.signParts.mutate({ jobId: other.jobId, partNumbers: [1] });
    const [one, two] = parts;
    const [otherOne] = otherParts;
    if (!one || !two || !otherOne) throw new Error('parts were not signed');
    const first = bytes.subarray(0, 5 * MIB);
    const second = bytes.subarray(5 * MIB);
    const otherUploadId = new URL(otherOne.url).searchParams.get('uploadId') ?? '';
    expect(otherUploadId).not.toBe(new URL(one.url).searchParams.get('uploadId'));

    const from = gateway.records.length;
    expectRefused(await put(withParam(one.url, 'partNumber', '2'), {}, second), 403, 'SignatureDoesNotMatch');
    expectRefused(await put(withParam(one.url, 'uploadId', otherUploadId), {}, first), 403, 'SignatureDoesNotMatch');
    expectRefused(await put(withPath(one.url, new URL(otherOne.url).pathname), {}, first), 403, 'SignatureDoesNotMatch');
    expectRefused(await put(two.url, {}, first), 403, 'SignatureDoesNotMatch');
    expectRefused(await put(flipLastHex(one.url), {}, first), 403, 'SignatureDoesNotMatch');
    try {
      clockOffsetMs = (server.config.partUrlExpiresSeconds + 5) * 1000;
      expectRefused(await put(one.url, {}, first), 403, 'AccessDenied');
    } finally {
      clockOffsetMs = 0;
    }
    expect(gateway.records.slice(from).every((r) => !r.forwarded)).toBe(true);
    const error = await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_INCOMPLETE');

    // Sent as signed, both parts go through and the upload completes with exactly the file.
    const stored = [];
    for (const [part, body] of [
      [one, first],
      [two, second],
    ] as const) {
      const answer = await put(part.url, {}, body);
      expect(answer).toMatchObject({ status: 200, record: { forwarded: true } });
      stored.push({ partNumber: part.partNumber, etag: answer.etag ?? '' });
    }
    await expect(client.upload.complete.mutate({ jobId: upload.jobId, parts: stored })).resolves.toMatchObject({
      status: 'queued',
    });
    expect((await storedBytes(upload.s3Key))?.equals(bytes)).toBe(true);
    await client.upload.abort.mutate({ jobId: other.jobId });
    await expectQueuedOnce([upload.jobId]);
  });
});

describe('download links through the gateway', () => {
  it('a completed job’s links fetch its artifacts; a link moved to another key or expired is refused', async () => {
    const client = clientFor(coachA);
    const upload = await initiateSingle(coachA, 16);
    const result = await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 2 });
    const metrics = JSON.stringify({ frames: 2, canary: randomUUID() });
    await server.storage.putObject(result.artifacts.metricsKey, metrics, 'application/json');
    await server.storage.putObject(`${result.artifacts.framesPrefix ?? ''}000000.jpg`, 'jpeg', 'image/jpeg');

    const job = await client.jobs.get.query({ jobId: upload.jobId });
    const metricsUrl = job.artifacts?.metricsUrl ?? '';
    expect(metricsUrl.startsWith(`${gateway.url}/`)).toBe(true);
    const ok = await fetch(metricsUrl);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(metrics);
    const frame = await fetch(job.artifacts?.frames[0]?.url ?? '');
    expect(await frame.text()).toBe('jpeg');

    const moved = await send(withPath(metricsUrl, `/${server.bucket}/${upload.s3Key}`), { method: 'GET' });
    expectRefused(moved, 403, 'SignatureDoesNotMatch');
    try {
      clockOffsetMs = (server.config.downloadUrlExpiresSeconds + 5) * 1000;
      expectRefused(await send(metricsUrl, { method: 'GET' }), 403, 'AccessDenied');
    } finally {
      clockOffsetMs = 0;
    }
  });
});
