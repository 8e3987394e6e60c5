/**
 * Faults at every boundary (storage, queue, database) carry canary strings and
 * realistic internals (SQL, an ARN, the bucket, the queue URL, AWS's own error
 * text). Every procedure that crosses the boundary is called over real HTTP:
 * the caller gets a clean error with a stable appCode and none of it, while
 * the server's log does get the canary, so operators can debug and the test
 * knows the fault really fired.
 */
import { randomBytes } from 'node:crypto';

import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { SQSServiceException, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { createAwsClients, createS3Storage, type MessageQueue, type ObjectStorage } from '@coach/aws';
import { sql } from '@coach/db';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { memoryLogger } from '../../../test/helpers/memory-log.ts';
import { recordScenario } from '../../../test/helpers/reliability.ts';
import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

const MIB = 1024 * 1024;
const CANARY = /canary-[0-9a-f]{16}/;
const newCanary = () => `canary-${randomBytes(8).toString('hex')}`;

// ---------------------------------------------------------------------------
// Faults

/** AWS SDK commands that fail (by command name, or `credentials` for the signing credentials) → their canary. */
const sdkFaults = new Map<string, string>();
/** Adapter methods that throw the SDK's error unwrapped (as a buggy adapter would). */
const rawFaults = new Map<string, string>();
/**
 * When set, every database query the app makes fails with this canary: as a
 * statement Postgres refuses, or as a connection the server terminated.
 */
let dbFault: { canary: string; kind: DbFaultKind } | undefined;
type DbFaultKind = 'statement' | 'connection';

function awsInternals(canary: string, commandName: string) {
  return (
    `${canary} We encountered an internal error. Please try again. ${commandName} on bucket ${server.bucket} ` +
    `(arn:aws:s3:::${server.bucket}/coach_plus) via ${server.endpoint}; queue ${server.queueUrl} ` +
    `arn:aws:sqs:us-east-1:123456789012:${queueName()}`
  );
}

function s3Error(canary: string, commandName: string) {
  return new S3ServiceException({
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500, requestId: `${canary}-request`, extendedRequestId: `${canary}-host-id`, attempts: 1 },
    message: awsInternals(canary, commandName),
  });
}

function sqsError(canary: string, commandName: string) {
  return new SQSServiceException({
    name: 'KmsThrottled',
    $fault: 'server',
    $metadata: { httpStatusCode: 500, requestId: `${canary}-request`, attempts: 1 },
    message: awsInternals(canary, commandName),
  });
}

const queueName = () => new URL(server.queueUrl).pathname.split('/').filter(Boolean).at(-1) ?? '';

/** The SQL text a realistic database error would carry. */
const LEAKY_SQL = `select "id", "owner_id", "s3_key" from "video_analysis_jobs" where "owner_type" = 'coach' and "owner_id" = 'coach-a'`;

/**
 * Fails every query the app makes, before it reaches the pool, with the
 * driver's own error class filled as Postgres fills it (code, detail, hint,
 * context, source position), carrying the canary and the failing SQL.
 */
class DatabaseFault implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (!dbFault) return args.node;
    const { canary, kind } = dbFault;
    const message =
      kind === 'statement'
        ? `${canary} relation "video_analysis_jobs_archive" does not exist`
        : `${canary} terminating connection due to administrator command`;
    const error = new pg.DatabaseError(message, message.length + 120, 'error');
    Object.assign(error, {
      severity: kind === 'statement' ? 'ERROR' : 'FATAL',
      code: kind === 'statement' ? '42P01' : '57P01',
      detail: `Failing statement: ${LEAKY_SQL}; bucket ${server.bucket}`,
      hint: `Check arn:aws:rds:us-east-1:123456789012:db:coach-plus (${canary})`,
      position: '38',
      where: `PL/pgSQL function archive_job() line 3 at SQL statement`,
      internalQuery: LEAKY_SQL,
      file: kind === 'statement' ? 'parse_relation.c' : 'postgres.c',
      line: kind === 'statement' ? '1449' : '3300',
      routine: kind === 'statement' ? 'parserOpenTable' : 'ProcessInterrupts',
    });
    throw error;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

function rawStorage(real: ObjectStorage): ObjectStorage {
  return new Proxy(real, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const canary = rawFaults.get(`storage.${String(property)}`);
        if (canary) return Promise.reject(s3Error(canary, String(property)));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function rawQueue(real: MessageQueue): MessageQueue {
  return {
    send: (body, options) => {
      const canary = rawFaults.get('queue.send');
      return canary ? Promise.reject(sqsError(canary, 'SendMessage')) : real.send(body, options);
    },
    receive: (params) => real.receive(params),
    delete: (handle) => real.delete(handle),
    changeVisibility: (handle, seconds) => real.changeVisibility(handle, seconds),
    ping: () => real.ping(),
  };
}

/** Runs `fn` with the named faults armed, and disarms them whatever happens. */
async function withFaults<T>(
  faults: { sdk?: readonly string[]; raw?: readonly string[]; db?: DbFaultKind },
  canary: string,
  fn: () => Promise<T>,
): Promise<T> {
  for (const name of faults.sdk ?? []) sdkFaults.set(name, canary);
  for (const name of faults.raw ?? []) rawFaults.set(name, canary);
  if (faults.db) dbFault = { canary, kind: faults.db };
  try {
    return await fn();
  } finally {
    sdkFaults.clear();
    rawFaults.clear();
    dbFault = undefined;
  }
}

/**
 * Signing credentials as a role's temporary ones are: fetched again near
 * expiry (so on every call here), and failing the way STS does when armed.
 */
async function signingCredentials() {
  const canary = sdkFaults.get('credentials');
  if (canary) {
    const error = new Error(
      `${canary} User: arn:aws:sts::123456789012:assumed-role/coach-api/i-0abc12 is not authorized to perform: ` +
        `sts:AssumeRole on resource: arn:aws:iam::123456789012:role/coach-uploads (bucket ${server.bucket})`,
    );
    error.name = 'CredentialsProviderError';
    throw error;
  }
  return { accessKeyId: 'test', secretAccessKey: 'test', expiration: new Date(Date.now() + 60_000) };
}

const storageClients = (() => {
  const endpoint = inject('awsEndpoint');
  const base = { region: TEST_REGION, endpoint, forcePathStyle: true } as const;
  const aws = createAwsClients({ region: TEST_REGION, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { s3 } = aws;
  const signer = new S3Client({
    ...base,
    credentials: signingCredentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  addSdkFault(s3, s3Error);
  return {
    s3,
    signer,
    destroy() {
      aws.destroy();
      signer.destroy();
    },
  };
})();

/** Fails the SDK commands named in `sdkFaults`, before the request is even built (no retries). */
function addSdkFault(client: S3Client | SQSClient, makeError: (canary: string, commandName: string) => Error) {
  (client.middlewareStack as { add: (middleware: unknown, options: object) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const canary = sdkFaults.get(context.commandName ?? '');
      if (canary) throw makeError(canary, context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name: 'canaryFault' },
  );
}

// ---------------------------------------------------------------------------
// Server, log and calls

let server: TestServer;
let token: string;
const serverLog = memoryLogger('info');
const log = serverLog.lines;
/** Requests are the faulted calls only; fixtures set up through the typed client are not counted. */
const figures = { requests: 0, http5xx: 0, probes: 0, jobs: 0, messages: 0 };

beforeAll(async () => {
  server = await startTestServer({
    logger: serverLog.logger,
    config: { multipartThresholdBytes: 5 * MIB, multipartPartSizeBytes: 5 * MIB },
    // The real S3 adapter on clients of this file's own, so faults can be injected into them.
    wrapStorage: (real) =>
      rawStorage(createS3Storage({ s3: storageClients.s3, signer: storageClients.signer, bucket: real.bucket })),
    wrapQueue: rawQueue,
    wrapDb: (db) => db.withPlugin(new DatabaseFault()),
  });
  token = await server.tokenFor(coachA);
  // The queue adapter calls the server's own SQS client.
  addSdkFault(server.aws.sqs, sqsError);
});

afterAll(async () => {
  await recordScenario({
    scenario: 'canary faults',
    scale: `${figures.probes} faults injected at storage, queue and database boundaries`,
    requests: figures.requests,
    jobs: figures.jobs,
    messages: figures.messages,
    results: 0,
    // Checked for the jobs completed while the queue failed: each message went out exactly once afterwards.
    lost: 0,
    duplicated: 0,
    http5xx: figures.http5xx,
    expected5xx: true,
    notes: 'requests: the faulted calls only; the 5xx are the expected SERVICE_UNAVAILABLE/INTERNAL answers to injected faults',
  });
  await server?.close();
  storageClients.destroy();
});

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  figures.requests += 1;
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status >= 500) figures.http5xx += 1;
  return { status: response.status, text, headers: response.headers };
}

type Call = { proc: string; type: 'query' | 'mutation'; input: unknown };

function callApi({ proc, type, input }: Call): Promise<Answer> {
  const json = JSON.stringify(input);
  const authorization = `Bearer ${token}`;
  return type === 'query'
    ? request(`${server.trpcUrl}/${proc}?input=${encodeURIComponent(json)}`, { headers: { authorization } })
    : request(`${server.trpcUrl}/${proc}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: json,
      });
}

/** Internals no answer may show, whatever status it has. */
function internals(): (string | RegExp)[] {
  return [
    CANARY,
    'canary',
    'arn:aws',
    server.queueUrl,
    queueName(),
    server.endpoint,
    'We encountered an internal error',
    'relation "',
    'video_analysis_jobs',
    'Failing statement',
    'owner_type',
    /\bselect\b.*\bfrom\b/i,
    'PL/pgSQL',
    '42P01',
    'InternalError',
    'KmsThrottled',
    'ServiceException',
    'DatabaseError',
    'AwsUnavailableError',
    /failed\b/, // our own adapter messages ("head object failed")
    'node_modules',
    /\n\s+at\s/,
    /\.ts:\d+/,
  ];
}

function expectNoInternals(text: string, where: string, options: { bucketAllowed?: boolean } = {}) {
  const markers = options.bucketAllowed ? internals() : [...internals(), server.bucket];
  for (const marker of markers) {
    if (typeof marker === 'string') expect(text, `${where} leaks ${JSON.stringify(marker)}`).not.toContain(marker);
    else expect(text, `${where} leaks ${String(marker)}`).not.toMatch(marker);
  }
}

function expectSafeHeaders(answer: Answer, where: string) {
  const cacheControl = (answer.headers.get('cache-control') ?? '').split(',').map((d) => d.trim());
  expect(cacheControl, where).toContain('no-store');
  expect(cacheControl, where).not.toContain('public');
  expect(answer.headers.get('x-content-type-options'), where).toBe('nosniff');
  expect(answer.headers.get('x-frame-options'), where).toBe('DENY');
}

interface ErrorBody {
  error: { message: string; data: { appCode: string; httpStatus: number; requestId: string | null } };
}

function expectCleanError(answer: Answer, status: number, appCode: string, where: string) {
  expect(answer.status, `${where}: ${answer.text.slice(0, 300)}`).toBe(status);
  const { error } = JSON.parse(answer.text) as ErrorBody;
  expect(error.data.appCode, where).toBe(appCode);
  expect(error.data.httpStatus, where).toBe(status);
  if (appCode === 'INTERNAL') {
    expect(error.message, where).toMatch(/^Something went wrong on our side\. Please try again \(request [0-9a-f-]{36}\)\.$/);
  }
  expectNoInternals(answer.text, where);
  expectSafeHeaders(answer, where);
}

/** Runs one call with a fault armed; the canary must reach the log, in lines written during the call. */
async function probe(faults: Parameters<typeof withFaults>[0], call: () => Promise<Answer>, options: { logged?: boolean } = {}) {
  const canary = newCanary();
  figures.probes += 1;
  const from = log.length;
  const answer = await withFaults(faults, canary, call);
  if (options.logged ?? true) {
    const lines = log.slice(from).filter((line) => line.includes(canary));
    expect(lines.length, `the canary ${canary} reaches the server log`).toBeGreaterThan(0);
  }
  return answer;
}

// ---------------------------------------------------------------------------
// Fixtures: real rows and objects the probes point at

let sessionId: string;

async function newSingle(withObject: boolean) {
  const client = server.clientFor(coachA);
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 64 });
  if (withObject) {
    await fetch(upload.presignedUrl ?? '', { method: 'PUT', headers: upload.headers, body: new Uint8Array(64) });
  }
  return upload;
}

/** A multipart upload whose two parts are stored and recorded, ready to complete. */
async function newMultipart() {
  const client = server.clientFor(coachA);
  const bytes = randomBytes(6 * MIB);
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.length });
  const { parts } = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1, 2] });
  const stored = [];
  for (const part of parts) {
    const start = (part.partNumber - 1) * 5 * MIB;
    const response = await fetch(part.url, { method: 'PUT', body: bytes.subarray(start, start + part.sizeBytes) });
    stored.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
  }
  await client.upload.recordParts.mutate({ jobId: upload.jobId, parts: stored });
  return upload;
}

async function newCompleted() {
  const upload = await newSingle(false);
  await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 3 });
  return upload;
}

beforeAll(async () => {
  sessionId = (await server.clientFor(coachA).sessions.create.mutate({ title: 'Canaries', playerIds: ['p1'] })).sessionId;
});

const jobStatus = async (jobId: string) =>
  (await server.db.selectFrom('videoAnalysisJobs').select('status').where('id', '=', jobId).executeTakeFirstOrThrow()).status;

// ---------------------------------------------------------------------------
// Storage and queue

interface BoundaryCase {
  what: string;
  /** SDK command failing on the real clients, or `credentials` for the signing credentials. */
  command: string;
  /** The same failure thrown unwrapped by the adapter method. */
  method: string;
  call: () => Promise<Call & { jobId?: string }>;
}

const storageCases: BoundaryCase[] = [
  {
    what: 'presign of a single PUT (upload.initiate)',
    command: 'credentials',
    method: 'storage.presignPut',
    call: async () => ({ proc: 'upload.initiate', type: 'mutation', input: { sessionId, sizeBytes: 64 } }),
  },
  {
    what: 'multipart create (upload.initiate)',
    command: 'CreateMultipartUploadCommand',
    method: 'storage.createMultipartUpload',
    call: async () => ({ proc: 'upload.initiate', type: 'mutation', input: { sessionId, sizeBytes: 6 * MIB } }),
  },
  {
    what: 'part presign (upload.signParts)',
    command: 'credentials',
    method: 'storage.presignUploadPart',
    call: async () => {
      const { jobId } = await server.clientFor(coachA).upload.initiate.mutate({ sessionId, sizeBytes: 6 * MIB });
      return { proc: 'upload.signParts', type: 'mutation', input: { jobId, partNumbers: [1, 2] }, jobId };
    },
  },
  {
    what: 'head (upload.complete)',
    command: 'HeadObjectCommand',
    method: 'storage.head',
    call: async () => {
      const { jobId } = await newSingle(true);
      return { proc: 'upload.complete', type: 'mutation', input: { jobId }, jobId };
    },
  },
  {
    what: 'multipart complete (upload.complete)',
    command: 'CompleteMultipartUploadCommand',
    method: 'storage.completeMultipartUpload',
    call: async () => {
      const { jobId } = await newMultipart();
      return { proc: 'upload.complete', type: 'mutation', input: { jobId }, jobId };
    },
  },
  {
    what: 'multipart abort (upload.abort)',
    command: 'AbortMultipartUploadCommand',
    method: 'storage.abortMultipartUpload',
    call: async () => {
      const { jobId } = await newMultipart();
      return { proc: 'upload.abort', type: 'mutation', input: { jobId }, jobId };
    },
  },
  {
    what: 'delete (upload.abort of a single PUT)',
    command: 'DeleteObjectCommand',
    method: 'storage.delete',
    call: async () => {
      const { jobId } = await newSingle(true);
      return { proc: 'upload.abort', type: 'mutation', input: { jobId }, jobId };
    },
  },
  {
    what: 'download presign (jobs.get)',
    command: 'credentials',
    method: 'storage.presignGet',
    call: async () => ({ proc: 'jobs.get', type: 'query', input: { jobId: (await newCompleted()).jobId } }),
  },
  {
    what: 'download presign (jobs.frames)',
    command: 'credentials',
    method: 'storage.presignGet',
    call: async () => ({ proc: 'jobs.frames', type: 'query', input: { jobId: (await newCompleted()).jobId } }),
  },
];

describe('storage faults', () => {
  it.each(storageCases.map((c) => [c.what, c] as const))(
    'an S3 failure in %s answers 503 SERVICE_UNAVAILABLE with nothing of S3 in it',
    async (_what, c) => {
      const call = await c.call();
      const before = call.jobId ? await jobStatus(call.jobId) : undefined;
      const answer = await probe({ sdk: [c.command] }, () => callApi(call));
      expectCleanError(answer, 503, 'SERVICE_UNAVAILABLE', c.what);
      if (call.jobId) expect(await jobStatus(call.jobId), 'the failed call changes nothing').toBe(before);
    },
  );

  it.each(storageCases.map((c) => [c.what, c] as const))(
    'an unwrapped SDK error from the adapter in %s answers 500 INTERNAL, masked',
    async (_what, c) => {
      const call = await c.call();
      const answer = await probe({ raw: [c.method] }, () => callApi(call));
      expectCleanError(answer, 500, 'INTERNAL', c.what);
    },
  );

  it('a storage outage on /readyz says only "unavailable"', async () => {
    const answer = await probe({ sdk: ['HeadBucketCommand'] }, () => request(`${server.url}/readyz`));
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ status: 'unavailable' });
    expectNoInternals(answer.text, '/readyz');
    expectSafeHeaders(answer, '/readyz');
  });
});

describe('queue faults', () => {
  it.each([
    ['an SQS failure', { sdk: ['SendMessageCommand'] }],
    ['an unwrapped SDK error from the adapter', { raw: ['queue.send'] }],
  ] as const)('%s on send: upload.complete still answers 200 (sent later), with nothing of SQS in it', async (_label, faults) => {
    await server.drainQueue();
    const { jobId } = await newSingle(true);
    const answer = await probe(faults, () => callApi({ proc: 'upload.complete', type: 'mutation', input: { jobId } }));
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ result: { data: { jobId, status: 'queued', sqsMessageId: null } } });
    expectNoInternals(answer.text, 'upload.complete');
    expectSafeHeaders(answer, 'upload.complete');
    // The outbox kept the message; once the queue answers (after the retry delay), it goes out exactly once.
    await waitFor(async () => (await server.outbox.relayDue(10)).sent === 1, { what: 'the outbox to send the message' });
    const messages = await server.drainQueue();
    figures.jobs += 1;
    figures.messages += messages.length;
    expect(messages.map((m) => (JSON.parse(m.Body ?? '{}') as { job_id: string }).job_id)).toEqual([jobId]);
  });

  it('a queue outage on /readyz says only "unavailable"', async () => {
    const answer = await probe({ sdk: ['GetQueueAttributesCommand'] }, () => request(`${server.url}/readyz`));
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ status: 'unavailable' });
    expectNoInternals(answer.text, '/readyz');
  });
});

// ---------------------------------------------------------------------------
// Database

describe('database faults', () => {
  const calls: { what: string; call: () => Promise<Call> }[] = [
    {
      what: 'sessions.create',
      call: async () => ({ proc: 'sessions.create', type: 'mutation', input: { title: 't', playerIds: [] } }),
    },
    { what: 'sessions.get', call: async () => ({ proc: 'sessions.get', type: 'query', input: { sessionId } }) },
    { what: 'sessions.list', call: async () => ({ proc: 'sessions.list', type: 'query', input: {} }) },
    {
      what: 'upload.initiate (single)',
      call: async () => ({ proc: 'upload.initiate', type: 'mutation', input: { sessionId, sizeBytes: 64 } }),
    },
    {
      what: 'upload.initiate (multipart)',
      call: async () => ({ proc: 'upload.initiate', type: 'mutation', input: { sessionId, sizeBytes: 6 * MIB } }),
    },
    {
      what: 'upload.signParts',
      call: async () => ({
        proc: 'upload.signParts',
        type: 'mutation',
        input: { jobId: (await newMultipart()).jobId, partNumbers: [1] },
      }),
    },
    {
      what: 'upload.recordParts',
      call: async () => ({
        proc: 'upload.recordParts',
        type: 'mutation',
        input: { jobId: (await newMultipart()).jobId, parts: [{ partNumber: 1, etag: `"${'a'.repeat(32)}"` }] },
      }),
    },
    {
      what: 'upload.listParts',
      call: async () => ({ proc: 'upload.listParts', type: 'query', input: { jobId: (await newMultipart()).jobId } }),
    },
    {
      what: 'upload.complete',
      call: async () => ({ proc: 'upload.complete', type: 'mutation', input: { jobId: (await newSingle(true)).jobId } }),
    },
    {
      what: 'upload.abort',
      call: async () => ({ proc: 'upload.abort', type: 'mutation', input: { jobId: (await newSingle(false)).jobId } }),
    },
    { what: 'jobs.get', call: async () => ({ proc: 'jobs.get', type: 'query', input: { jobId: (await newCompleted()).jobId } }) },
    { what: 'jobs.list', call: async () => ({ proc: 'jobs.list', type: 'query', input: { sessionId } }) },
    {
      what: 'jobs.frames',
      call: async () => ({ proc: 'jobs.frames', type: 'query', input: { jobId: (await newCompleted()).jobId } }),
    },
  ];

  it.each(calls.map((c) => [c.what, c] as const))('a database failure in %s answers 500 INTERNAL, masked', async (what, c) => {
    const call = await c.call();
    const answer = await probe({ db: 'statement' }, () => callApi(call));
    expectCleanError(answer, 500, 'INTERNAL', what);
  });

  it.each(calls.map((c) => [c.what, c] as const))(
    'a lost database connection in %s is an outage: 503 SERVICE_UNAVAILABLE, masked',
    async (what, c) => {
      const call = await c.call();
      const answer = await probe({ db: 'connection' }, () => callApi(call));
      expectCleanError(answer, 503, 'SERVICE_UNAVAILABLE', what);
    },
  );

  it('a batch with a failing call masks it the same way', async () => {
    const input = encodeURIComponent(JSON.stringify({ 0: { sessionId }, 1: {} }));
    const answer = await probe({ db: 'statement' }, () =>
      request(`${server.trpcUrl}/sessions.get,sessions.list?batch=1&input=${input}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(answer.status).toBe(500);
    const items = JSON.parse(answer.text) as ErrorBody[];
    expect(items.map((i) => i.error.data.appCode)).toEqual(['INTERNAL', 'INTERNAL']);
    expectNoInternals(answer.text, 'batch');
    expectSafeHeaders(answer, 'batch');
  });

  it('a database outage on /readyz says only "unavailable"', async () => {
    const answer = await probe({ db: 'statement' }, () => request(`${server.url}/readyz`));
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ status: 'unavailable' });
    expectNoInternals(answer.text, '/readyz');
  });
});

// ---------------------------------------------------------------------------
// jobs.watch (SSE)

/** Reads a jobs.watch stream until `done(text)` or the time is up; `onEvent` runs once, at the first data event. */
async function readWatch(
  jobId: string,
  options: { done: (text: string) => boolean; onFirstEvent?: () => Promise<void>; timeoutMs?: number },
) {
  figures.requests += 1;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5_000);
  const response = await fetch(`${server.trpcUrl}/jobs.watch?input=${encodeURIComponent(JSON.stringify({ jobId }))}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (response.status >= 500) figures.http5xx += 1;
  let text = '';
  let firstSeen = false;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of response.body ?? []) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (!firstSeen && /\ndata: \{/.test(`\n${text}`) && options.onFirstEvent) {
        firstSeen = true;
        await options.onFirstEvent();
      }
      if (options.done(text)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: response.status, headers: response.headers, text };
}

/** The error events of an SSE body (tRPC sends `event: serialized-error`). */
function sseErrors(text: string): ErrorBody['error'][] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: serialized-error'))
    .map(
      (block) =>
        JSON.parse(
          block
            .split('\n')
            .find((l) => l.startsWith('data: '))
            ?.slice(6) ?? '{}',
        ) as ErrorBody['error'],
    );
}

describe('jobs.watch faults', () => {
  it('a database failure before the stream opens is a masked INTERNAL error', async () => {
    const { jobId } = await newSingle(true);
    const from = log.length;
    const canary = newCanary();
    const answer = await withFaults({ db: 'statement' }, canary, () =>
      readWatch(jobId, { done: (t) => t.includes('serialized-error') || t.includes('"error"') }),
    );
    expect(
      log.slice(from).some((l) => l.includes(canary)),
      'the canary reaches the log',
    ).toBe(true);
    expectNoInternals(answer.text, 'jobs.watch');
    expectSafeHeaders(answer, 'jobs.watch');
    const errors = answer.status === 200 ? sseErrors(answer.text) : [(JSON.parse(answer.text) as ErrorBody).error];
    expect(errors.map((e) => e.data.appCode)).toEqual(['INTERNAL']);
  });

  it('a database failure mid-stream ends it with a masked INTERNAL error', async () => {
    const { jobId } = await newSingle(true);
    await server.clientFor(coachA).upload.complete.mutate({ jobId });
    await server.drainQueue();
    const canary = newCanary();
    const from = log.length;
    figures.probes += 1;
    const answer = await readWatch(jobId, {
      done: (t) => t.includes('serialized-error'),
      onFirstEvent: async () => {
        dbFault = { canary, kind: 'statement' };
        // Another process moves the job on; the stream re-reads it through the failing database.
        await sql`update video_analysis_jobs set progress_percent = 1 where id = ${jobId}`.execute(server.db);
      },
      timeoutMs: 8_000,
    }).finally(() => {
      dbFault = undefined;
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"status":"queued"');
    const errors = sseErrors(answer.text);
    expect(errors.map((e) => e.data.appCode)).toEqual(['INTERNAL']);
    expect(errors[0]?.message).toMatch(/^Something went wrong on our side/);
    await waitFor(() => log.slice(from).some((l) => l.includes(canary)), { what: 'the canary in the log', timeoutMs: 2_000 });
    // The stream's events legitimately name the job's bucket and key; nothing else may show.
    expectNoInternals(answer.text, 'jobs.watch stream', { bucketAllowed: true });
    expect(JSON.stringify(errors)).not.toContain(server.bucket);
    expectSafeHeaders(answer, 'jobs.watch stream');
  });
});

describe('the log, for operators', () => {
  it('carries the underlying cause of a masked failure with its request id', async () => {
    const { jobId } = await newSingle(true);
    const canary = newCanary();
    const from = log.length;
    const answer = await withFaults({ sdk: ['HeadObjectCommand'] }, canary, () =>
      callApi({ proc: 'upload.complete', type: 'mutation', input: { jobId } }),
    );
    const { error } = JSON.parse(answer.text) as ErrorBody;
    const lines = log.slice(from).map((l) => JSON.parse(l) as { reqId?: string; requestId?: string; err?: { message?: string } });
    const logged = lines.find((l) => l.err?.message?.includes(canary));
    expect(logged, 'a log line with the cause').toBeDefined();
    expect(logged?.reqId ?? logged?.requestId).toBe(error.data.requestId);
  });
});
