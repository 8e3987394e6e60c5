import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

const MIB = 1024 * 1024;

/** Storage calls a test can count, made through the real adapter. */
const calls = { presignGet: 0, createMultipartUpload: 0, abortMultipartUpload: 0 };
function counting(real: ObjectStorage): ObjectStorage {
  return new Proxy(real, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property in calls) calls[property as keyof typeof calls]++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    wrapStorage: counting,
    config: {
      mutationsPerMinute: 10,
      signedUrlsPerMinute: 300,
      maxOpenUploads: 1,
      maxUploadBytes: 100 * MIB,
      multipartThresholdBytes: 5 * MIB,
      multipartPartSizeBytes: 5 * MIB,
    },
  });
});
afterAll(() => server.close());

interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

async function call(token: string, path: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<Answer> {
  const response = await fetch(`${server.trpcUrl}/${path}`, {
    method: init.method,
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

const appCodeOf = (body: unknown) => (body as { error?: { data: { appCode: string } } }).error?.data.appCode;

describe('every mutation is paid for from a per-user allowance', () => {
  it('holds one user to the limit of sessions.create, with Retry-After, while another user goes on', async () => {
    const token = await server.tokenFor(coachA);
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        call(token, 'sessions.create', { method: 'POST', body: { title: `burst ${i}`, playerIds: [] } }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(15);
    expect(refused.every((a) => appCodeOf(a.body) === 'TOO_MANY_REQUESTS' && Number(a.retryAfter) >= 1)).toBe(true);
    const stored = await server.db.selectFrom('videoSessions').select('id').where('createdBy', '=', coachA.userId).execute();
    expect(stored).toHaveLength(10);

    const other = await call(await server.tokenFor(coachB), 'sessions.create', {
      method: 'POST',
      body: { title: 'mine', playerIds: [] },
    });
    expect(other.status).toBe(200);
  });
});

describe('signed links are counted, not calls', () => {
  it('signs at most the allowance when one batched GET asks jobs.frames for 4,000 links', async () => {
    const owner = server.clientFor(coachB);
    const { sessionId } = await owner.sessions.create.mutate({ title: 'Frames', playerIds: [] });
    const upload = await owner.upload.initiate.mutate({ sessionId, sizeBytes: 1000 });
    await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 4_000 });
    const before = calls.presignGet;

    const batch = Array.from({ length: 20 }, () => 'jobs.frames').join(',');
    const input = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [i, { jobId: upload.jobId, offset: i * 200, limit: 200 }]),
    );
    const token = await server.tokenFor(coachB);
    const answer = await call(token, `${batch}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, { method: 'GET' });

    const results = answer.body as { result?: unknown; error?: { data: { appCode: string } } }[];
    expect(results.filter((r) => r.result)).toHaveLength(1);
    expect(results.filter((r) => r.error?.data.appCode === 'TOO_MANY_REQUESTS')).toHaveLength(19);
    expect(calls.presignGet - before).toBe(200);
  });
});

describe('limits are checked before any storage call', () => {
  it('refuses a multipart initiate over the open-upload limit without starting (and aborting) a multipart upload', async () => {
    const client = server.clientFor({ ...coachA, userId: 'coach-multipart' });
    const { sessionId } = await client.sessions.create.mutate({ title: 'Big files', playerIds: [] });
    await client.upload.initiate.mutate({ sessionId, sizeBytes: 12 * MIB });
    const started = calls.createMultipartUpload;
    const aborted = calls.abortMultipartUpload;

    const refused = await call(await server.tokenFor({ ...coachA, userId: 'coach-multipart' }), 'upload.initiate', {
      method: 'POST',
      body: { sessionId, sizeBytes: 12 * MIB },
    });
    expect(refused.status).toBe(429);
    expect(appCodeOf(refused.body)).toBe('TOO_MANY_OPEN_UPLOADS');
    expect(calls.createMultipartUpload).toBe(started);
    expect(calls.abortMultipartUpload).toBe(aborted);
  });
});
