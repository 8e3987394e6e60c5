import { randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signDevToken } from '@coach/api';
import { createClient, errorCodeOf } from '@coach/client';

import { manualClock } from '../../../test/helpers/clock.ts';
import { coachA, freeUser } from '../../../test/helpers/identities.ts';
import { memoryLogger, parsedLines } from '../../../test/helpers/memory-log.ts';
import { ALLOWED_ORIGIN, FaultyQueue, startTestServer, type TestServer } from '../../../test/helpers/server.ts';

let server: TestServer;
let faulty: FaultyQueue;
let token: string;

beforeAll(async () => {
  server = await startTestServer({ wrapQueue: (queue) => (faulty = new FaultyQueue(queue)) });
  token = await server.tokenFor(coachA);
});
afterAll(() => server?.close());

interface TrpcErrorBody {
  error: {
    message: string;
    code: number;
    data: {
      code: string;
      httpStatus: number;
      path: string | null;
      appCode: string;
      requestId: string | null;
      fieldErrors: Record<string, string[]> | null;
      stack?: unknown;
    };
  };
}

async function call(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; auth?: string | null } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  const auth = init.auth === undefined ? token : init.auth;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${server.url}${path}`, { method: init.method ?? 'POST', headers, body: init.body });
  const text = await response.text();
  return { response, text, json: () => JSON.parse(text) as unknown };
}

const expectSecurityHeaders = (response: Response) => {
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('x-frame-options')).toBe('DENY');
};

describe('GET /healthz (liveness)', () => {
  it('answers 200 without asking any dependency, even one that is down', async () => {
    faulty.fail.ping = true;
    const pingsBefore = faulty.pings;
    try {
      const { response, json } = await call('/healthz', { method: 'GET', auth: null });
      expect(response.status).toBe(200);
      expect(json()).toEqual({ status: 'ok' });
      expect(faulty.pings).toBe(pingsBefore);
    } finally {
      faulty.fail.ping = false;
    }
  });
});

describe('GET /readyz (readiness)', () => {
  it('answers 200 ok when Postgres, S3 and SQS all answer', async () => {
    const { response, json } = await call('/readyz', { method: 'GET', auth: null });
    expect(response.status).toBe(200);
    expect(json()).toEqual({ status: 'ok' });
  });

  it('answers 503 saying only "unavailable" when the queue fails, and names the queue in the log', async () => {
    const log = memoryLogger('info');
    const logged = await startTestServer({ logger: log.logger, wrapQueue: (queue) => new FaultyQueue(queue, { ping: true }) });
    try {
      const response = await fetch(`${logged.url}/readyz`);
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ status: 'unavailable' });
      expect(text).not.toMatch(/aws|sqs|queue|failed/i);
      const entries = parsedLines(log.lines) as { msg?: string; dependency?: string }[];
      expect(entries.filter((e) => e.msg === 'readiness check failed').map((e) => e.dependency)).toEqual(['queue']);
    } finally {
      await logged.close();
    }
  });

  it('reuses an answer for 5 s (not after), and lets concurrent probes share one check', async () => {
    const clock = manualClock();
    let queue!: FaultyQueue;
    const cached = await startTestServer({
      readinessCacheMs: 5_000,
      clock,
      wrapQueue: (inner) => (queue = new FaultyQueue(inner)),
    });
    try {
      const probe = async () => (await fetch(`${cached.url}/readyz`)).status;
      expect(await Promise.all(Array.from({ length: 10 }, probe))).toEqual(Array(10).fill(200));
      expect(queue.pings).toBe(1);
      queue.fail.ping = true;
      // The test clock runs with the wall clock too: half the window leaves room for a slow machine.
      clock.advance(2_500);
      expect(await probe()).toBe(200);
      expect(queue.pings).toBe(1);
      clock.advance(2_500);
      expect(await probe()).toBe(503);
      expect(queue.pings).toBe(2);
    } finally {
      await cached.close();
    }
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`${server.trpcUrl}/upload.initiate`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  it('echoes an allowed origin on a preflight and allows the headers the client sends', async () => {
    const response = await preflight(ALLOWED_ORIGIN);
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = response.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    expect(allowed).toContain('authorization');
    expect(allowed).toContain('content-type');
  });

  it('gives a foreign origin no allow-origin header, on preflight or on a real call', async () => {
    const response = await preflight('http://evil.test');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();

    const real = await call('/trpc/sessions.list', { method: 'GET', headers: { origin: 'http://evil.test' } });
    expect(real.response.status).toBe(200);
    expect(real.response.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await call('/trpc/sessions.list', { method: 'GET', headers: { origin: ALLOWED_ORIGIN } });
    expect(allowed.response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
  });

  it.each([
    'null',
    `${ALLOWED_ORIGIN}.evil.test`,
    `${ALLOWED_ORIGIN}:8443`,
    ALLOWED_ORIGIN.replace('http:', 'https:'),
    `http://evil.test/${ALLOWED_ORIGIN}`,
    `http://evil-${new URL(ALLOWED_ORIGIN).host}`,
    ALLOWED_ORIGIN.toUpperCase(),
  ])('gives a look-alike origin %j nothing either, on preflight or on a real call or an error', async (origin) => {
    const response = await preflight(origin);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    for (const real of [
      await call('/trpc/sessions.list', { method: 'GET', headers: { origin } }),
      await call('/trpc/sessions.list', { method: 'GET', headers: { origin }, auth: null }),
    ]) {
      expect(real.response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('marks answers as varying by Origin, so a shared cache cannot hand one origin’s grant to another', async () => {
    const allowed = await call('/trpc/sessions.list', { method: 'GET', headers: { origin: ALLOWED_ORIGIN } });
    expect(allowed.response.headers.get('vary')?.toLowerCase()).toContain('origin');
    const error = await call('/trpc/sessions.list', { method: 'GET', headers: { origin: ALLOWED_ORIGIN }, auth: null });
    expect(error.response.status).toBe(401);
    expect(error.response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(error.response.headers.get('vary')?.toLowerCase()).toContain('origin');
  });
});

describe('answer framing', () => {
  it('sends a whole JSON answer in one piece with its Content-Length, keeping tRPC’s Vary names next to Origin', async () => {
    for (const auth of [token, null]) {
      const { response, text } = await call('/trpc/sessions.list', { method: 'GET', headers: { origin: ALLOWED_ORIGIN }, auth });
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
      expect(response.headers.get('transfer-encoding')).toBeNull();
      const vary = response.headers
        .get('vary')
        ?.toLowerCase()
        .split(',')
        .map((v) => v.trim());
      expect(vary).toEqual(expect.arrayContaining(['origin', 'trpc-accept', 'accept']));
      expect(new Set(vary).size).toBe(vary?.length);
      expectSecurityHeaders(response);
    }
  });

  it('still streams a batch the client asked to have streamed', async () => {
    const input = encodeURIComponent(JSON.stringify({ 0: {}, 1: {} }));
    const { response, text } = await call(`/trpc/sessions.list,sessions.list?batch=1&input=${input}`, {
      method: 'GET',
      headers: { 'trpc-accept': 'application/jsonl' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-length')).toBeNull();
    expect(text.trim().split('\n').length).toBeGreaterThan(1);
    // A stream, so proxies are also asked not to buffer or transform it.
    expect(response.headers.get('cache-control')).toBe('no-store, no-transform');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('batching', () => {
  it('runs two procedures in one HTTP request through the typed client', async () => {
    const requests: string[] = [];
    const client = createClient({
      url: server.trpcUrl,
      token,
      fetch: (input, init) => {
        requests.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    const session = await client.sessions.create.mutate({ title: 'Batch', playerIds: [] });
    requests.length = 0;

    const [got, list] = await Promise.all([
      client.sessions.get.query({ sessionId: session.sessionId }),
      client.sessions.list.query({ limit: 5 }),
    ]);
    expect(got).toEqual(session);
    expect(list.items.map((s) => s.sessionId)).toContain(session.sessionId);
    expect(requests).toHaveLength(1);
    const url = new URL(requests[0] ?? '');
    expect(url.pathname).toBe('/trpc/sessions.get,sessions.list');
    expect(url.searchParams.get('batch')).toBe('1');
  });

  it('answers a raw ?batch=1 request with one result per procedure, errors kept per item', async () => {
    const session = await server.clientFor(coachA).sessions.create.mutate({ title: 'Raw batch', playerIds: [] });
    const input = encodeURIComponent(JSON.stringify({ 0: { sessionId: session.sessionId }, 1: { sessionId: randomUUID() } }));
    const { response, json } = await call(`/trpc/sessions.get,sessions.get?batch=1&input=${input}`, {
      method: 'GET',
    });
    expect(response.status).toBe(207);
    const body = json() as [{ result: { data: { sessionId: string } } }, TrpcErrorBody];
    expect(body).toHaveLength(2);
    expect(body[0].result.data.sessionId).toBe(session.sessionId);
    expect(body[1].error.data).toMatchObject({ appCode: 'SESSION_NOT_FOUND', httpStatus: 404 });
  });
});

describe('error shape over HTTP', () => {
  it('answers invalid input with 400 INVALID_INPUT naming the field', async () => {
    const { response, json } = await call('/trpc/upload.initiate', {
      body: JSON.stringify({ sessionId: randomUUID(), sampleFps: 99 }),
    });
    expect(response.status).toBe(400);
    expectSecurityHeaders(response);
    const { error } = json() as TrpcErrorBody;
    expect(error.data.appCode).toBe('INVALID_INPUT');
    expect(error.data.httpStatus).toBe(400);
    expect(error.message).toContain('sampleFps');
    expect(error.data.fieldErrors).toHaveProperty('sampleFps');
    expect(error.data.fieldErrors?.sampleFps?.length).toBeGreaterThan(0);
    expect(error.data.stack).toBeUndefined();
  });

  it('answers an initiate without sizeBytes with 400 INVALID_INPUT naming the field: every upload is bounded', async () => {
    const client = server.clientFor(coachA);
    const { sessionId } = await client.sessions.create.mutate({ title: 'No size', playerIds: [] });
    const { response, json } = await call('/trpc/upload.initiate', {
      body: JSON.stringify({ sessionId, contentType: 'video/mp4' }),
    });
    expect(response.status).toBe(400);
    const { error } = json() as TrpcErrorBody;
    expect(error.data.appCode).toBe('INVALID_INPUT');
    expect(error.message).toContain('sizeBytes: is required');
    expect(error.data.fieldErrors?.sizeBytes).toEqual(["is required: the file's size in bytes (every upload is bounded by it)"]);
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const { response, json } = await call('/trpc/sessions.create', { body: '{"title": ' });
    expect(response.status).toBe(400);
    expect((json() as TrpcErrorBody).error.data.appCode).toBe('INVALID_INPUT');
  });

  it('answers a call without a token with 401 UNAUTHENTICATED', async () => {
    const { response, json } = await call('/trpc/sessions.create', {
      auth: null,
      body: JSON.stringify({ title: 'x', playerIds: [] }),
    });
    expect(response.status).toBe(401);
    expect((json() as TrpcErrorBody).error.data.appCode).toBe('UNAUTHENTICATED');
    const error = await createClient({ url: server.trpcUrl })
      .sessions.list.query({})
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UNAUTHENTICATED');
  });

  it('answers a forged or malformed token with 401 TOKEN_INVALID', async () => {
    const forged = await signDevToken(randomBytes(32).toString('hex'), { userId: coachA.userId, role: coachA.role });
    for (const auth of [forged, 'not-a-jwt', `${token.slice(0, -4)}AAAA`]) {
      const { response, json } = await call('/trpc/sessions.list', { method: 'GET', auth });
      expect(response.status).toBe(401);
      expect((json() as TrpcErrorBody).error.data.appCode).toBe('TOKEN_INVALID');
    }
  });

  it('answers an expired token with 401 TOKEN_EXPIRED', async () => {
    const expired = await server.tokenFor(coachA, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const { response, json } = await call('/trpc/sessions.list', { method: 'GET', auth: expired });
    expect(response.status).toBe(401);
    const { error } = json() as TrpcErrorBody;
    expect(error.data.appCode).toBe('TOKEN_EXPIRED');
    expect(error.message).toMatch(/expired/i);
  });

  it('answers a role without video access with 403 ROLE_NOT_ALLOWED', async () => {
    const error = await server
      .clientFor(freeUser)
      .sessions.list.query({})
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('ROLE_NOT_ALLOWED');
  });

  it('answers an unknown procedure with 404', async () => {
    const { response, json } = await call('/trpc/sessions.drop', { body: '{}' });
    expect(response.status).toBe(404);
    expect((json() as TrpcErrorBody).error.data.appCode).toBe('NOT_FOUND');
  });

  it('refuses a JSON body over 1 MiB with 413, and keeps serving', async () => {
    const body = JSON.stringify({ title: 'big', playerIds: [], pad: 'x'.repeat(1024 * 1024 + 10) });
    const { response } = await call('/trpc/sessions.create', { body });
    expect(response.status).toBe(413);
    expectSecurityHeaders(response);
    const { response: after } = await call('/trpc/sessions.list', { method: 'GET' });
    expect(after.status).toBe(200);
  });

  it('sets the security headers on every kind of response', async () => {
    const responses = [
      (await call('/healthz', { method: 'GET', auth: null })).response,
      (await call('/trpc/sessions.list', { method: 'GET' })).response,
      (await call('/trpc/sessions.list', { method: 'GET', auth: null })).response,
      (await call('/no-such-route', { method: 'GET' })).response,
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 404]);
    for (const response of responses) expectSecurityHeaders(response);
  });

  it('sets them on a jobs.watch event stream too (no-store, not only no-cache), keeping Vary: Origin', async () => {
    const client = server.clientFor(coachA);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Stream headers', playerIds: [] });
    const { jobId } = await client.upload.initiate.mutate({ sessionId, sizeBytes: 10 });
    const controller = new AbortController();
    try {
      const response = await fetch(`${server.trpcUrl}/jobs.watch?input=${encodeURIComponent(JSON.stringify({ jobId }))}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', origin: ALLOWED_ORIGIN },
        signal: controller.signal,
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      expect(
        response.headers
          .get('cache-control')
          ?.split(',')
          .map((d) => d.trim()),
      ).toContain('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(response.headers.get('vary')?.toLowerCase()).toContain('origin');
    } finally {
      controller.abort();
    }
  });
});

describe('internal errors', () => {
  const CANARY = 'canary-secret SELECT * FROM x';

  const expectMasked = (status: number, text: string) => {
    expect(status).toBe(500);
    expect(text).not.toContain('canary');
    expect(text).not.toMatch(/SELECT|FROM x|destroyed|kysely|pg_/i);
    expect(text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    const { error } = JSON.parse(text) as TrpcErrorBody;
    expect(error.data.appCode).toBe('INTERNAL');
    expect(error.data.stack).toBeUndefined();
    expect(error.data.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.message).toContain(error.data.requestId ?? '<none>');
    expect(error.message).toMatch(/^Something went wrong on our side/);
    return error;
  };

  it('masks a plain error thrown by storage: 500, generic message with the request id', async () => {
    const broken = await startTestServer({
      wrapStorage: (storage) => ({
        ...storage,
        bucket: storage.bucket,
        head: () => Promise.reject(new Error(CANARY)),
      }),
    });
    try {
      const client = broken.clientFor(coachA);
      const session = await client.sessions.create.mutate({ title: 'Boom', playerIds: [] });
      const upload = await client.upload.initiate.mutate({ sessionId: session.sessionId, sizeBytes: 10 });
      const response = await fetch(`${broken.trpcUrl}/upload.complete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await broken.tokenFor(coachA)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jobId: upload.jobId }),
      });
      const text = await response.text();
      expectSecurityHeaders(response);
      const first = expectMasked(response.status, text);

      // A second failure carries its own request id.
      const again = await fetch(`${broken.trpcUrl}/upload.complete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await broken.tokenFor(coachA)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jobId: upload.jobId }),
      });
      const second = expectMasked(again.status, await again.text());
      expect(second.data.requestId).not.toBe(first.data.requestId);
      // The job was not changed by the failed complete.
      await expect(client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
        status: 'awaiting_upload',
      });
    } finally {
      await broken.close();
    }
  });

  it('masks a database failure the same way and reports it on /readyz', async () => {
    const broken = await startTestServer();
    try {
      const brokenToken = await broken.tokenFor(coachA);
      // Take the server's database away underneath it.
      const dbName = new URL(broken.dbUrl).pathname.slice(1);
      const admin = new pg.Client({ connectionString: broken.dbUrl.replace(/\/[^/]+$/, '/postgres') });
      await admin.connect();
      try {
        await admin.query(`drop database "${dbName}" with (force)`);
      } finally {
        await admin.end();
      }
      const response = await fetch(`${broken.trpcUrl}/sessions.list`, {
        headers: { authorization: `Bearer ${brokenToken}` },
      });
      expectMasked(response.status, await response.text());

      const readiness = await fetch(`${broken.url}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toEqual({ status: 'unavailable' });
    } finally {
      await broken.close();
    }
  });
});
