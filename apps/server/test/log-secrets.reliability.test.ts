/**
 * The server's production logger, captured in memory through a whole upload
 * flow (sessions, single and multipart uploads, signed download links, a
 * storage outage, refused tokens): no bearer token, JWT, token secret, AWS
 * secret, SigV4 signature or credential, or presigned URL may appear in any
 * log line, while the request lines themselves must (so the check can fail).
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { signDevToken } from '@coach/api';
import { createAwsClients, createS3Storage, type ObjectStorage } from '@coach/aws';
import { createClient, type ApiClient } from '@coach/client';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { memoryLogger } from '../../../test/helpers/memory-log.ts';
import { recordScenario } from '../../../test/helpers/reliability.ts';
import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';
import { startSigV4Gateway, type SigV4Gateway } from '../../../test/helpers/sigv4-gateway.ts';

const MIB = 1024 * 1024;
/** The most verbose level an operator can set: whatever it writes must be safe too. */
const LOG_LEVEL = 'trace';
const ACCESS_KEY_ID = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
const SECRET_ACCESS_KEY = randomBytes(30).toString('base64');

const serverLog = memoryLogger(LOG_LEVEL);
const log = serverLog.lines;
let server: TestServer;
let gateway: SigV4Gateway;
const aws = createAwsClients({
  region: TEST_REGION,
  endpoint: inject('awsEndpoint'),
  credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
});
/** Clients whose every call S3 refuses (header-signed requests to the gateway): a storage outage. */
let refusing: ReturnType<typeof createAwsClients> | undefined;
let outage = false;

/** Everything the flow handed out or sent that must never be logged. */
const secrets = new Set<string>();
const api = { requests: 0, http5xx: 0 };

beforeAll(async () => {
  gateway = await startSigV4Gateway({
    upstream: inject('awsEndpoint'),
    region: TEST_REGION,
    credentials: { [ACCESS_KEY_ID]: SECRET_ACCESS_KEY },
  });
  const failing = createAwsClients({
    region: TEST_REGION,
    endpoint: gateway.url,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  refusing = failing;
  server = await startTestServer({
    logger: serverLog.logger,
    config: { multipartThresholdBytes: 5 * MIB, multipartPartSizeBytes: 5 * MIB },
    wrapStorage: (real) => {
      const healthy = createS3Storage({ s3: aws.s3, signer: aws.s3Signer, bucket: real.bucket });
      const down = createS3Storage({ s3: failing.s3, signer: failing.s3Signer, bucket: real.bucket });
      return new Proxy(healthy, {
        get: (_target, property) => Reflect.get(outage ? down : healthy, property) as unknown,
      }) satisfies ObjectStorage;
    },
  });
  secrets.add(server.tokenSecret);
  secrets.add(SECRET_ACCESS_KEY);
  secrets.add(ACCESS_KEY_ID);
});

afterAll(async () => {
  await recordScenario({
    scenario: 'secrets in logs',
    scale: `one full upload flow, ${log.length} log lines at level ${LOG_LEVEL}`,
    requests: api.requests,
    // Not a delivery scenario: queue figures do not apply.
    jobs: 0,
    messages: 0,
    results: 0,
    lost: 0,
    duplicated: 0,
    http5xx: api.http5xx,
    expected5xx: true,
    notes: 'the one 5xx is the storage-outage call the flow makes on purpose; queue figures do not apply',
  });
  await server?.close();
  aws.destroy();
  refusing?.destroy();
  await gateway?.close();
});

const countingFetch: typeof fetch = async (input, init) => {
  api.requests += 1;
  const response = await fetch(input, init);
  if (response.status >= 500) api.http5xx += 1;
  return response;
};

/** A presigned URL and the parts of it that are secret on their own. */
function addUrl(url: string) {
  const u = new URL(url);
  secrets.add(url);
  secrets.add(`${u.pathname}${u.search}`);
  secrets.add(u.search.slice(1));
  for (const name of ['X-Amz-Signature', 'X-Amz-Credential']) {
    const value = u.searchParams.get(name);
    if (!value) throw new Error(`${name} missing from ${url}`);
    secrets.add(value);
    secrets.add(encodeURIComponent(value));
  }
}

function addToken(token: string) {
  secrets.add(token);
  // The signature alone is enough to forge nothing, but it is the token's secret part.
  const signature = token.split('.')[2];
  if (signature) secrets.add(signature);
}

describe('the production logger through a full flow', () => {
  let client: ApiClient;

  it('runs sessions, uploads, downloads, an outage and refused tokens', async () => {
    const token = await server.tokenFor(coachA);
    addToken(token);
    client = createClient({ url: server.trpcUrl, token, fetch: countingFetch });
    const { sessionId } = await client.sessions.create.mutate({ title: 'Logs', playerIds: ['p1'] });
    await client.sessions.list.query({});

    // Single PUT.
    const bytes = randomBytes(2048);
    const single = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.length });
    addUrl(single.presignedUrl ?? '');
    await fetch(single.presignedUrl ?? '', { method: 'PUT', headers: single.headers, body: bytes });
    await expect(client.upload.complete.mutate({ jobId: single.jobId })).resolves.toMatchObject({ status: 'queued' });

    // Multipart.
    const big = randomBytes(6 * MIB);
    const multi = await client.upload.initiate.mutate({ sessionId, sizeBytes: big.length });
    const { parts } = await client.upload.signParts.mutate({ jobId: multi.jobId, partNumbers: [1, 2] });
    const stored = [];
    for (const part of parts) {
      addUrl(part.url);
      const start = (part.partNumber - 1) * 5 * MIB;
      const response = await fetch(part.url, { method: 'PUT', body: big.subarray(start, start + part.sizeBytes) });
      stored.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
    }
    await client.upload.recordParts.mutate({ jobId: multi.jobId, parts: stored });
    await client.upload.listParts.query({ jobId: multi.jobId });
    await expect(client.upload.complete.mutate({ jobId: multi.jobId })).resolves.toMatchObject({ status: 'queued' });

    // Signed download links of a completed job.
    await markJobCompleted(server.db, { jobId: single.jobId, s3Key: single.s3Key, frameCount: 3 });
    const job = await client.jobs.get.query({ jobId: single.jobId });
    addUrl(job.artifacts?.metricsUrl ?? '');
    for (const frame of job.artifacts?.frames ?? []) addUrl(frame.url);
    const page = await client.jobs.frames.query({ jobId: single.jobId, offset: 1, limit: 2 });
    for (const frame of page.frames) addUrl(frame.url);
    expect(page.frames).toHaveLength(2);
    await client.jobs.list.query({ sessionId });

    // Storage refuses the server's signed requests: logged as an error naming the bucket, answered 503.
    const pending = await client.upload.initiate.mutate({ sessionId, sizeBytes: 10 });
    addUrl(pending.presignedUrl ?? '');
    outage = true;
    try {
      const error = await client.upload.complete.mutate({ jobId: pending.jobId }).catch((e: unknown) => e);
      expect((error as { data?: { appCode?: string } }).data?.appCode).toBe('STORAGE_UNAVAILABLE');
    } finally {
      outage = false;
    }
    expect(gateway.records.at(-1)).toMatchObject({ method: 'HEAD', forwarded: false, code: 'AccessDenied' });

    // Refused tokens: forged, expired, and garbage.
    const forged = await signDevToken(randomBytes(32).toString('hex'), { userId: 'coach-a', role: 'coach_pro_plus' });
    const expired = await server.tokenFor(coachA, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const garbage = `not-a-jwt-${randomBytes(12).toString('hex')}`;
    for (const bad of [forged, expired, garbage]) {
      addToken(bad);
      const response = await countingFetch(`${server.trpcUrl}/sessions.list`, { headers: { authorization: `Bearer ${bad}` } });
      expect(response.status).toBe(401);
      await response.text();
    }
    // A token sent where it does not belong (the query string) is not logged either.
    const misplaced = await countingFetch(
      `${server.trpcUrl}/sessions.list?access_token=${token}&X-Amz-Signature=${'f'.repeat(64)}`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    await misplaced.text();
  });

  it('logged every request, and the outage with its cause', () => {
    const entries = log.map(
      (line) =>
        JSON.parse(line) as { msg?: string; req?: { url?: string }; res?: { statusCode?: number }; err?: { message?: string } },
    );
    const urls = entries.filter((e) => e.msg === 'incoming request').map((e) => e.req?.url ?? '');
    for (const procedure of [
      'sessions.create',
      'upload.initiate',
      'upload.signParts',
      'upload.recordParts',
      'upload.complete',
      'jobs.get',
      'jobs.frames',
    ]) {
      expect(
        urls.some((url) => url.startsWith(`/trpc/${procedure}`)),
        `a request line for ${procedure}`,
      ).toBe(true);
    }
    expect(entries.filter((e) => e.msg === 'request completed' && e.res?.statusCode === 401)).toHaveLength(3);
    // The misplaced credentials were logged as a request line, their values replaced.
    expect(urls).toContain('/trpc/sessions.list?access_token=[Redacted]&X-Amz-Signature=[Redacted]');
    const outageLine = entries.find((e) => e.msg?.includes(`access to bucket ${server.bucket}`));
    // A HEAD's 403 has no body, so no error code: the status is named.
    expect(outageLine?.msg).toMatch(/was denied \(HTTP 403\); check the AWS credentials/);
  });

  it('logged no token, secret, signature, credential or presigned URL', () => {
    expect(secrets.size).toBeGreaterThan(20);
    const text = log.join('\n');
    for (const secret of secrets) {
      expect(secret.length, 'a secret too short to search for').toBeGreaterThanOrEqual(16);
      const at = text.indexOf(secret);
      expect(at, `log leaks ${secret.slice(0, 24)}… in: ${text.slice(Math.max(0, at - 200), at + 100)}`).toBe(-1);
    }
    // Shapes, whatever their values: JWTs, SigV4 query parameters and Authorization headers.
    for (const shape of [
      /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/,
      /X-Amz-Signature=(?!\[Redacted\])/i,
      /X-Amz-Credential=(?!\[Redacted\])/i,
      /Signature=[0-9a-f]{16}/,
      /Credential=AKIA/,
      /access_token=(?!\[Redacted\])/,
      /Bearer\s+\S/,
    ]) {
      expect(text, `log matches ${shape}`).not.toMatch(shape);
    }
  });
});
