/**
 * The first version's API (README "First version's API"): its curl usage flow, word for word,
 * run with the curl binary against a started server; a standard-library Python client; and the
 * rules behind the routes. Presigned URLs are judged by a gateway that verifies SigV4 as S3 does
 * (the emulator checks no signature), so a URL's signed headers are really enforced.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { AwsUnavailableError } from '@coach/aws';

import { startGatewayStorage, type GatewayStorage } from '../../../test/helpers/gateway-storage.ts';
import { coachA, coachB, coachWithoutUpload, freeUser, orgUserX1, type Identity } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const MAX_UPLOAD_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let gateway: GatewayStorage;
let server: TestServer;
let dir: string;

beforeAll(async () => {
  gateway = await startGatewayStorage({
    accessKeyId: 'AKIAFIRSTVERSION0001',
    secretAccessKey: randomBytes(30).toString('base64'),
    now: () => new Date(),
  });
  server = await startTestServer({
    // The first version's URL lifetime (S3_UPLOAD_URL_EXPIRES_SECONDS' default, 3600).
    config: { uploadUrlExpiresSeconds: 3600, maxUploadBytes: MAX_UPLOAD_BYTES },
    wrapStorage: (real) => gateway.signThroughGateway(real),
  });
  dir = await mkdtemp(path.join(tmpdir(), 'first-version-'));
  // Makes the seed's curl commands, untouched, also print the HTTP status and no progress meter.
  await writeFile(path.join(dir, '.curlrc'), 'silent\nshow-error\nwrite-out = "\\n%{http_code}"\n');
});
afterAll(async () => {
  await server?.close();
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await server.drainQueue();
});

/** The README's first-version curl blocks, which are the first version's usage flow word for word. */
async function usageFlow(): Promise<string[]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf("## First version's API");
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

/** Runs one of the flow's commands with bash and the real curl, the placeholders filled in. */
async function curl(command: string, fill: Record<string, string>): Promise<{ status: number; body: string }> {
  let filled = command.replaceAll('http://localhost:8000', server.url);
  for (const [name, value] of Object.entries(fill)) filled = filled.replaceAll(`<${name}>`, value);
  expect(filled, 'every placeholder is filled').not.toMatch(/<[a-z_]+>/);
  const { stdout } = await run('bash', ['-c', filled], { cwd: dir, env: { ...process.env, CURL_HOME: dir } });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

async function call(
  identity: Identity | null,
  route: string,
  body: unknown,
  init: { raw?: string; contentType?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
  if (identity) headers.authorization = `Bearer ${await server.tokenFor(identity)}`;
  const response = await fetch(`${server.url}/api/coaches/plus${route}`, {
    method: 'POST',
    headers,
    body: init.raw ?? JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

async function createSession(identity: Identity): Promise<string> {
  const answer = await call(identity, '/sessions', { title: 'Nets', player_ids: ['p1'] });
  expect(answer.status).toBe(200);
  return answer.json.session_id as string;
}

async function initiate(identity: Identity, body: Record<string, unknown> = {}) {
  const sessionId = await createSession(identity);
  const answer = await call(identity, '/videos/upload/initiate', { session_id: sessionId, ...body });
  expect(answer.status).toBe(200);
  return answer.json as { job_id: string; presigned_url: string; s3_key: string; session_id: string };
}

const put = (url: string, body: Uint8Array, contentType = 'video/mp4') =>
  fetch(url, { method: 'PUT', headers: { 'content-type': contentType }, body }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

const outboxRows = (jobId: string) =>
  server.db.selectFrom('outboxMessages').select('id').where('dedupeKey', 'like', `analysis:${jobId}%`).execute();

describe("the first version's curl usage flow, word for word, with the real curl", () => {
  it('gets the answers the first version documents, and the worker receives the job', async () => {
    const worker = await startTestWorker(server);
    try {
      const [createCommand, initiateCommand, putCommand, completeCommand] = await usageFlow();
      expect([createCommand, initiateCommand, putCommand, completeCommand].every(Boolean)).toBe(true);
      await writeFile(path.join(dir, 'video.mp4'), randomBytes(300_000)); // not a video: the worker fails it as NOT_A_VIDEO
      const token = await server.tokenFor(coachA);

      const created = await curl(createCommand ?? '', { token });
      expect(created.status).toBe(200);
      const session = JSON.parse(created.body) as Record<string, unknown>;
      expect(session).toEqual({
        session_id: expect.stringMatching(UUID),
        owner_type: 'coach',
        owner_id: coachA.userId,
        title: 'Batting Technique Review',
        player_ids: ['player1', 'player2'],
        created_by: coachA.userId,
        created_at: expect.any(String),
      });
      const sessionId = session.session_id as string;

      const initiated = await curl(initiateCommand ?? '', { token, session_id: sessionId });
      expect(initiated.status).toBe(200);
      const upload = JSON.parse(initiated.body) as Record<string, unknown>;
      expect(Object.keys(upload).sort()).toEqual(['expires_in', 'job_id', 'presigned_url', 's3_bucket', 's3_key', 'session_id']);
      expect(upload).toEqual({
        job_id: expect.stringMatching(UUID),
        session_id: sessionId,
        presigned_url: expect.stringContaining(`/${server.bucket}/coach_plus/coach/${coachA.userId}/${sessionId}/`),
        expires_in: 3600,
        s3_bucket: server.bucket,
        s3_key: expect.stringMatching(
          new RegExp(`^coach_plus/coach/${coachA.userId}/${sessionId}/[0-9a-f-]{36}/original\\.mp4$`),
        ),
      });
      const jobId = upload.job_id as string;

      const stored = await curl(putCommand ?? '', { presigned_url: upload.presigned_url as string });
      expect(stored).toEqual({ status: 200, body: '' });

      const completed = await curl(completeCommand ?? '', { token, job_id: jobId });
      expect(completed.status).toBe(200);
      expect(JSON.parse(completed.body)).toEqual({
        job_id: jobId,
        status: 'processing',
        sqs_message_id: expect.any(String),
        message: 'Video uploaded and queued for analysis',
      });

      // The job reached the worker through the queue, with the first version's inputs.
      const finished = await waitFor(
        async () => {
          const job = await server.db
            .selectFrom('videoAnalysisJobs')
            .select(['status', 'errorCode', 'sampleFps', 'includeFrames'])
            .where('id', '=', jobId)
            .executeTakeFirstOrThrow();
          return job.status === 'failed' && job;
        },
        { timeoutMs: 60_000, what: 'the worker to finish the job' },
      );
      expect(finished).toEqual({ status: 'failed', errorCode: 'NOT_A_VIDEO', sampleFps: 15, includeFrames: true });
    } finally {
      await worker.stop();
    }
  }, 90_000);
});

describe("a first-version client in Python's standard library", () => {
  it('runs the flow by changing only its base URL', async () => {
    const video = path.join(dir, 'python.mp4');
    await writeFile(video, randomBytes(200_000));
    const { stdout } = await run('python3', [
      path.join(import.meta.dirname, 'fixtures/first_version_client.py'),
      server.url,
      await server.tokenFor(coachA),
      video,
    ]);
    const [session, upload, done] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(upload).toMatchObject({ session_id: session?.session_id, expires_in: 3600, s3_bucket: server.bucket });
    expect(done).toEqual({
      job_id: upload?.job_id,
      status: 'processing',
      sqs_message_id: expect.any(String),
      message: 'Video uploaded and queued for analysis',
    });
    const messages = await server.drainQueue();
    expect(messages.map((m) => m.MessageId)).toEqual([done?.sqs_message_id]);
  }, 30_000);
});

describe('the rules behind the first version’s routes', () => {
  it("answers another owner's session and job as missing ones, in the first version's words", async () => {
    const upload = await initiate(coachA);
    for (const stranger of [coachB, orgUserX1]) {
      const initiated = await call(stranger, '/videos/upload/initiate', { session_id: upload.session_id });
      expect({ status: initiated.status, json: initiated.json }).toEqual({
        status: 404,
        json: { detail: 'Video session not found', app_code: 'SESSION_NOT_FOUND', request_id: expect.any(String) },
      });
      const completed = await call(stranger, '/videos/upload/complete', { job_id: upload.job_id });
      expect({ status: completed.status, json: completed.json }).toEqual({
        status: 404,
        json: { detail: 'Analysis job not found', app_code: 'JOB_NOT_FOUND', request_id: expect.any(String) },
      });
    }
    // Ids that are not ours are free text to the first version: not found, as it answered.
    const odd = await call(coachA, '/videos/upload/initiate', { session_id: 'session_456' });
    expect([odd.status, odd.json.detail]).toEqual([404, 'Video session not found']);
    const oddJob = await call(coachA, '/videos/upload/complete', { job_id: 'job_789' });
    expect([oddJob.status, oddJob.json.detail]).toEqual([404, 'Analysis job not found']);
    expect(await server.drainQueue()).toEqual([]);
  });

  it('refuses a complete before the PUT with a clear error, then completes once the file is there', async () => {
    const upload = await initiate(coachA);
    const early = await call(coachA, '/videos/upload/complete', { job_id: upload.job_id });
    expect({ status: early.status, json: early.json }).toEqual({
      status: 412,
      json: {
        detail:
          'No video has been uploaded for this job yet. PUT the file to its presigned_url, then call /api/coaches/plus/videos/upload/complete again.',
        app_code: 'UPLOAD_NOT_FOUND',
        request_id: expect.any(String),
      },
    });
    expect(await outboxRows(upload.job_id)).toEqual([]);
    expect(await put(upload.presigned_url, randomBytes(1000))).toBe(200);
    const done = await call(coachA, '/videos/upload/complete', { job_id: upload.job_id });
    expect(done.status).toBe(200);
  });

  it('answers a repeated complete the same, with one message on the queue', async () => {
    const upload = await initiate(coachA);
    expect(await put(upload.presigned_url, randomBytes(2000))).toBe(200);
    const answers = await Promise.all([1, 2, 3].map(() => call(coachA, '/videos/upload/complete', { job_id: upload.job_id })));
    const again = await call(coachA, '/videos/upload/complete', { job_id: upload.job_id });
    for (const answer of [...answers, again]) {
      expect({ status: answer.status, json: answer.json }).toEqual({ status: 200, json: answers[0]?.json });
    }
    const messages = await server.drainQueue();
    expect(messages.map((m) => m.MessageId)).toEqual([answers[0]?.json.sqs_message_id]);
    expect(await outboxRows(upload.job_id)).toHaveLength(1);
  });

  it('without a size, signs the Content-Type only, and rejects a stored file over MAX_UPLOAD_BYTES at complete', async () => {
    const upload = await initiate(coachA);
    expect(await put(upload.presigned_url, randomBytes(1000), 'application/octet-stream')).toBe(403);
    // The first version's PUT sends no If-None-Match, and need not: the URL does not sign it.
    expect(await put(upload.presigned_url, randomBytes(MAX_UPLOAD_BYTES + 1))).toBe(200);
    const done = await call(coachA, '/videos/upload/complete', { job_id: upload.job_id });
    expect({ status: done.status, code: done.json.app_code }).toEqual({ status: 422, code: 'UPLOAD_REJECTED' });
    expect(done.json.detail).toMatch(/larger than the 1 MiB limit/);
    expect(await server.storage.head(upload.s3_key)).toBeUndefined();
    expect(await server.drainQueue()).toEqual([]);
  });

  it('with size_bytes, binds the PUT to that length, and refuses a size over the limit', async () => {
    const bytes = randomBytes(5000);
    const upload = await initiate(coachA, { size_bytes: bytes.length });
    expect(await put(upload.presigned_url, randomBytes(bytes.length + 1))).toBe(403);
    expect(await put(upload.presigned_url, bytes)).toBe(200);
    const done = await call(coachA, '/videos/upload/complete', { job_id: upload.job_id });
    expect(done.status).toBe(200);

    const sessionId = await createSession(coachA);
    const tooLarge = await call(coachA, '/videos/upload/initiate', { session_id: sessionId, size_bytes: MAX_UPLOAD_BYTES + 1 });
    expect({ status: tooLarge.status, code: tooLarge.json.app_code }).toEqual({ status: 413, code: 'FILE_TOO_LARGE' });
  });

  it('refuses an initiate without size_bytes once FIRST_VERSION_UNSIZED_UPLOADS is off, naming the field', async () => {
    const sized = await startTestServer({ config: { firstVersionUnsizedUploads: false } });
    try {
      const token = await sized.tokenFor(coachA);
      const post = async (route: string, body: unknown) => {
        const response = await fetch(`${sized.url}/api/coaches/plus${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, json: (await response.json()) as Record<string, unknown> };
      };
      const session = await post('/sessions', { title: 'Nets' });
      const refused = await post('/videos/upload/initiate', { session_id: session.json.session_id });
      expect(refused).toEqual({
        status: 422,
        json: {
          detail: [
            {
              loc: ['body', 'size_bytes'],
              msg: "Field required: the file's exact size in bytes, which this server binds its upload URL to",
              type: 'missing',
            },
          ],
          app_code: 'INVALID_INPUT',
          request_id: expect.any(String),
        },
      });
      expect(await sized.db.selectFrom('videoAnalysisJobs').select('id').execute()).toEqual([]);
      const accepted = await post('/videos/upload/initiate', { session_id: session.json.session_id, size_bytes: 10 });
      expect(accepted.status).toBe(200);
    } finally {
      await sized.close();
    }
  });

  it('accepts a size above the multipart threshold as one PUT, since the first version cannot upload parts', async () => {
    const big = await startTestServer({ config: { multipartThresholdBytes: 1000, maxUploadBytes: MAX_UPLOAD_BYTES } });
    try {
      const token = await big.tokenFor(coachA);
      const post = async (route: string, body: unknown) => {
        const response = await fetch(`${big.url}/api/coaches/plus${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return (await response.json()) as Record<string, string>;
      };
      const session = await post('/sessions', { title: 'Nets' });
      const upload = await post('/videos/upload/initiate', { session_id: session.session_id, size_bytes: 5000 });
      expect(await put(upload.presigned_url ?? '', randomBytes(5000))).toBe(200);
      expect(await post('/videos/upload/complete', { job_id: upload.job_id })).toMatchObject({ status: 'processing' });
    } finally {
      await big.close();
    }
  });

  it("answers a bad body with FastAPI's 422 list and ignores fields it does not know, as Pydantic did", async () => {
    const sessionId = await createSession(coachA);
    const bad = await call(coachA, '/videos/upload/initiate', { session_id: sessionId, sample_fps: 31 });
    expect(bad.status).toBe(422);
    expect(bad.json).toEqual({
      detail: [{ loc: ['body', 'sample_fps'], msg: expect.any(String), type: 'too_big' }],
      app_code: 'INVALID_INPUT',
      request_id: expect.any(String),
    });
    const missing = await call(coachA, '/videos/upload/complete', {});
    expect([missing.status, (missing.json.detail as { loc: string[] }[])[0]?.loc]).toEqual([422, ['body', 'job_id']]);
    const notJson = await call(coachA, '/sessions', null, { raw: '{"title": ' });
    expect([notJson.status, notJson.json.detail]).toEqual([
      422,
      [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }],
    ]);
    const nested = await call(coachA, '/sessions', null, { raw: `{"title":${'['.repeat(200_000)}` });
    expect([nested.status, nested.json.detail]).toEqual([
      422,
      [{ loc: ['body'], msg: 'The body nests more than 16 levels deep; no field takes such input.', type: 'json_invalid' }],
    ]);
    const notJsonType = await call(coachA, '/sessions', null, { raw: 'title=Nets', contentType: 'text/plain' });
    expect([notJsonType.status, notJsonType.json.app_code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);

    const extra = await call(coachA, '/videos/upload/initiate', { session_id: sessionId, video_title: 'ignored' });
    expect(extra.status).toBe(200);
  });

  it('answers a storage outage with a retryable 503 that names nothing internal, and creates nothing', async () => {
    const failing = await startTestServer({
      wrapStorage: (real) => ({
        ...real,
        presignPut: () =>
          Promise.reject(new AwsUnavailableError('presign upload', { cause: new Error('connect ECONNREFUSED 10.0.0.7:443') })),
      }),
    });
    try {
      const token = await failing.tokenFor(coachA);
      const post = async (route: string, body: unknown) => {
        const response = await fetch(`${failing.url}/api/coaches/plus${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, text: await response.text() };
      };
      const session = JSON.parse((await post('/sessions', { title: 'Nets' })).text) as { session_id: string };
      const answer = await post('/videos/upload/initiate', { session_id: session.session_id });
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({
        detail: 'Video storage is temporarily unavailable. Nothing was changed; please try again in a moment.',
        app_code: 'SERVICE_UNAVAILABLE',
        request_id: expect.any(String),
      });
      expect(answer.text).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|presign|aws|s3/i);
      expect(await failing.db.selectFrom('videoAnalysisJobs').select('id').execute()).toEqual([]);
    } finally {
      await failing.close();
    }
  });

  it('counts first-version initiates in the same limits, telling the caller when to come back', async () => {
    const limited = await startTestServer({ config: { initiatesPerMinute: 1 } });
    try {
      const token = await limited.tokenFor(coachA);
      const post = (route: string, body: unknown) =>
        fetch(`${limited.url}/api/coaches/plus${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const session = (await (await post('/sessions', { title: 'Nets' })).json()) as { session_id: string };
      expect((await post('/videos/upload/initiate', { session_id: session.session_id })).status).toBe(200);
      const refused = await post('/videos/upload/initiate', { session_id: session.session_id });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { app_code: string }).app_code).toBe('TOO_MANY_REQUESTS');
    } finally {
      await limited.close();
    }
  });

  it('keeps the Bearer token, the roles and the plan, in the first version’s words', async () => {
    const anonymous = await call(null, '/sessions', { title: 'Nets' });
    expect([anonymous.status, anonymous.json.app_code, anonymous.headers.get('www-authenticate')]).toEqual([
      401,
      'UNAUTHENTICATED',
      'Bearer',
    ]);
    const free = await call(freeUser, '/sessions', { title: 'Nets' });
    expect([free.status, free.json.detail, free.json.app_code]).toEqual([
      403,
      'Only Coach Pro Plus users can upload videos',
      'ROLE_NOT_ALLOWED',
    ]);
    const sessionId = await createSession(coachWithoutUpload);
    const noPlan = await call(coachWithoutUpload, '/videos/upload/initiate', { session_id: sessionId });
    expect([noPlan.status, noPlan.json.detail, noPlan.json.app_code]).toEqual([
      403,
      'Insufficient feature access: video_upload_enabled',
      'FEATURE_DISABLED',
    ]);
  });
});

describe('fuzzed first-version bodies', () => {
  it('answer 2xx, or a 4xx in the first version’s error shape with a stable code and nothing internal', async () => {
    const sessionId = await createSession(coachA);
    const token = await server.tokenFor(coachA);
    const nearValid = fc.record(
      {
        title: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        player_ids: fc.oneof(fc.array(fc.string()), fc.string()),
        session_id: fc.oneof(fc.constant(sessionId), fc.string(), fc.uuid(), fc.integer()),
        job_id: fc.oneof(fc.string(), fc.uuid(), fc.constant(null)),
        sample_fps: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean()),
        include_frames: fc.oneof(fc.boolean(), fc.string(), fc.integer()),
        size_bytes: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(Number.MAX_SAFE_INTEGER)),
        content_type: fc.oneof(fc.constant('video/quicktime'), fc.string()),
      },
      { requiredKeys: [] },
    );
    const routes = ['/sessions', '/videos/upload/initiate', '/videos/upload/complete'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fc.jsonValue(), nearValid), async (route, body) => {
        const response = await fetch(`${server.url}/api/coaches/plus${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        if (response.status >= 400) {
          const json = JSON.parse(text) as { detail: unknown; app_code: unknown };
          expect(json.detail).toBeDefined();
          expect(json.app_code).toEqual(expect.any(String));
          expect(text).not.toMatch(/\bat .+:\d+:\d+|select |insert |postgres|arn:aws|ZodError|TypeError/i);
        }
      }),
      { numRuns: 150, seed: 20_261_205 },
    );
  }, 120_000);
});
