import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signDevToken } from '@coach/api';
import { errorCodeOf } from '@coach/client';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

let server: TestServer;
let token: string;
beforeAll(async () => {
  server = await startTestServer();
  token = await server.tokenFor(coachA);
});
afterAll(() => server.close());

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.trpcUrl}/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  });

interface ErrorBody {
  error: { message: string; data: { appCode: string; httpStatus: number; requestId: string | null } };
}

describe('input hardening over HTTP', () => {
  it.each([
    ['a NUL byte in the title', { title: 'a\u0000b', playerIds: [] }, 'title'],
    ['a control character in a player id', { title: 'ok', playerIds: ['p\u0007'] }, 'playerIds.0'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_label, input, field) => {
    const response = await post('sessions.create', JSON.stringify(input));
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.data.appCode).toBe('INVALID_INPUT');
    expect(body.error.message).toContain(field);
    expect(await server.db.selectFrom('videoSessions').selectAll().where('title', 'like', 'a%b').execute()).toHaveLength(0);
  });

  it.each(['..', '.', 'a/b', 'x'.repeat(129), 'nul\u0000'])(
    'refuses a token whose subject %j could not be a key segment',
    async (sub) => {
      const forgedButSigned = await signDevToken(server.tokenSecret, { userId: sub, role: 'coach_pro_plus' });
      const response = await post('sessions.create', JSON.stringify({ title: 't', playerIds: [] }), {
        authorization: `Bearer ${forgedButSigned}`,
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as ErrorBody).error.data.appCode).toBe('TOKEN_INVALID');
    },
  );

  it('stores an upper-case session id in its one lower-case spelling', async () => {
    const client = server.clientFor(coachA);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Case', playerIds: [] });
    const upload = await client.upload.initiate.mutate({ sessionId: sessionId.toUpperCase(), sizeBytes: 1000 });
    expect(upload.sessionId).toBe(sessionId);
    expect(upload.s3Key).toContain(`/${sessionId}/`);
  });

  it('refuses a batch of more than 20 calls before running any of them', async () => {
    const paths = Array.from({ length: 21 }, () => 'sessions.create').join(',');
    const input = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [i, { title: `batch ${i}`, playerIds: [] }]));
    const response = await post(`${paths}?batch=1`, JSON.stringify(input));
    expect(response.status).toBe(400);
    expect(await server.db.selectFrom('videoSessions').selectAll().where('title', 'like', 'batch %').execute()).toHaveLength(0);
  });

  it('the typed client splits a large batch itself, so it still works', async () => {
    const client = server.clientFor(coachA);
    const created = await Promise.all(
      Array.from({ length: 25 }, (_, i) => client.sessions.create.mutate({ title: `split ${i}`, playerIds: [] })),
    );
    expect(new Set(created.map((s) => s.sessionId)).size).toBe(25);
  });

  it.each([
    ['a body over 1 MiB', 'x'.repeat(1024 * 1024 + 10), 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    ['a non-JSON content type', 'title=t', 'application/x-www-form-urlencoded', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('answers %s in the API error shape with a stable code', async (_label, body, contentType, status, appCode) => {
    const response = await post('sessions.create', body, { 'content-type': contentType });
    expect(response.status).toBe(status);
    const json = (await response.json()) as ErrorBody;
    expect(json.error.data).toMatchObject({ appCode, httpStatus: status });
    expect(json.error.data.requestId).toBeTruthy();
  });

  it('answers an unknown route with 404 NOT_FOUND in the same shape', async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.data.appCode).toBe('NOT_FOUND');
  });

  it('keeps errorCodeOf working for client callers', async () => {
    const error = await server
      .clientFor(coachA)
      .sessions.get.query({ sessionId: '00000000-0000-4000-8000-000000000000' })
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('SESSION_NOT_FOUND');
  });
});

describe('sizes over the limit, unknown fields and path tricks in ids, over HTTP', () => {
  const get = (path: string, input: unknown) =>
    fetch(`${server.trpcUrl}/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  const send = (proc: { path: string; type: 'query' | 'mutation' }, input: unknown) =>
    proc.type === 'query' ? get(proc.path, input) : post(proc.path, JSON.stringify(input));

  /** Row counts of every table the API writes. */
  const counts = async () =>
    Promise.all(
      (['videoSessions', 'videoAnalysisJobs', 'uploadParts', 'outboxMessages'] as const).map(async (table) =>
        Number(
          (
            await server.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        ),
      ),
    );

  async function expectRefused(response: Response, status: number, appCode: string, mention: string) {
    const body = (await response.json()) as ErrorBody;
    expect(response.status, JSON.stringify(body)).toBe(status);
    expect(body.error.data.appCode).toBe(appCode);
    expect(body.error.message).toContain(mention);
  }

  let sessionId: string;
  let jobId: string;
  beforeAll(async () => {
    const client = server.clientFor(coachA);
    sessionId = (await client.sessions.create.mutate({ title: 'Limits', playerIds: [] })).sessionId;
    jobId = (await client.upload.initiate.mutate({ sessionId, sizeBytes: 100 })).jobId;
  });

  it.each([
    ['one byte over', () => server.config.maxUploadBytes + 1],
    ['Number.MAX_SAFE_INTEGER', () => Number.MAX_SAFE_INTEGER],
  ])('refuses a declared size over the limit (%s) with 413 FILE_TOO_LARGE, creating nothing', async (_label, size) => {
    const before = await counts();
    await expectRefused(
      await post('upload.initiate', JSON.stringify({ sessionId, sizeBytes: size() })),
      413,
      'FILE_TOO_LARGE',
      '10 MiB',
    );
    expect(await counts()).toEqual(before);
  });

  it.each([2 ** 53, 1e21, 0, -1, 1.5, '1024', null])(
    'refuses a declared size of %j with 400 naming sizeBytes',
    async (sizeBytes) => {
      const before = await counts();
      await expectRefused(
        await post('upload.initiate', JSON.stringify({ sessionId, sizeBytes })),
        400,
        'INVALID_INPUT',
        'sizeBytes',
      );
      expect(await counts()).toEqual(before);
    },
  );

  it.each<[string, 'query' | 'mutation', () => Record<string, unknown>, string]>([
    ['sessions.create', 'mutation', () => ({ title: 't', playerIds: [], ownerId: 'coach-b' }), 'ownerId'],
    ['sessions.list', 'query', () => ({ limit: 5, ownerType: 'org' }), 'ownerType'],
    [
      'upload.initiate',
      'mutation',
      () => ({ sessionId, sizeBytes: 1000, s3Key: 'coach_plus/coach/coach-b/x/original.mp4' }),
      's3Key',
    ],
    ['upload.initiate', 'mutation', () => ({ sessionId, sizeBytes: 1000, bucket: 'another-bucket' }), 'bucket'],
    ['upload.complete', 'mutation', () => ({ jobId, status: 'completed' }), 'status'],
    ['upload.signParts', 'mutation', () => ({ jobId, partNumbers: [1], uploadId: 'forged' }), 'uploadId'],
    ['upload.recordParts', 'mutation', () => ({ jobId, parts: [{ partNumber: 1, etag: 'a'.repeat(32), size: 5 }] }), 'size'],
    ['jobs.get', 'query', () => ({ jobId, userId: 'coach-b' }), 'userId'],
  ])('%s refuses an unknown field (%#) with 400 naming it, and writes nothing', async (path, type, input, field) => {
    const before = await counts();
    await expectRefused(await send({ path, type }, input()), 400, 'INVALID_INPUT', field);
    expect(await counts()).toEqual(before);
  });

  const tricks: ((id: string) => string)[] = [
    (id) => `../${id}`,
    (id) => `${id}/../../coach-b`,
    (id) => `..%2F${id}`,
    (id) => `${id}%00`,
    (id) => `${id}/`,
    (id) => `${id}\\..\\x`,
    (id) => `coach_plus/coach/coach-b/${id}`,
  ];
  const idTargets: [string, 'query' | 'mutation', 'sessionId' | 'jobId', (bad: string) => Record<string, unknown>][] = [
    ['sessions.get', 'query', 'sessionId', (bad) => ({ sessionId: bad })],
    ['jobs.list', 'query', 'sessionId', (bad) => ({ sessionId: bad })],
    ['upload.initiate', 'mutation', 'sessionId', (bad) => ({ sessionId: bad, sizeBytes: 10 })],
    ['jobs.get', 'query', 'jobId', (bad) => ({ jobId: bad })],
    ['upload.complete', 'mutation', 'jobId', (bad) => ({ jobId: bad })],
    ['upload.signParts', 'mutation', 'jobId', (bad) => ({ jobId: bad, partNumbers: [1] })],
    ['upload.abort', 'mutation', 'jobId', (bad) => ({ jobId: bad })],
  ];
  it.each(idTargets)(
    '%s refuses path tricks in %s with 400 naming the field, and writes nothing',
    async (path, type, field, input) => {
      const before = await counts();
      for (const trick of tricks) {
        const bad = trick(field === 'sessionId' ? sessionId : jobId);
        await expectRefused(await send({ path, type }, input(bad)), 400, 'INVALID_INPUT', field);
      }
      expect(await counts()).toEqual(before);
    },
  );
});
