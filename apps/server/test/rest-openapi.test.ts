import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { appRouter, REST_EXCLUSIONS, restRoutes, type OpenAPIObject } from '@coach/api';

import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

let server: TestServer;
let tokenA: string;
let tokenB: string;
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer();
  [tokenA, tokenB] = await Promise.all([server.tokenFor(coachA), server.tokenFor(coachB)]);
  ({ sessionId } = await server.clientFor(coachA).sessions.create.mutate({ title: 'Nets', playerIds: [] }));
});
afterAll(() => server?.close());

async function fetchDocument(): Promise<OpenAPIObject> {
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as OpenAPIObject;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function send(
  path: string,
  init: { method?: string; token?: string | null; body?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? tokenA : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const response = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const trpcQuery = (procedure: string, input: unknown, token?: string | null) =>
  send(`/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { token });
const trpcMutation = (procedure: string, input: unknown, token?: string | null) =>
  send(`/trpc/${procedure}`, { method: 'POST', body: JSON.stringify(input), token });

/** The error body without the one field that differs per request. */
function withoutRequestId(answer: Answer) {
  const { error } = answer.body as { error: { data: { requestId: string | null } } };
  expect(error.data.requestId).toEqual(expect.any(String));
  return { status: answer.status, error: { ...error, data: { ...error.data, requestId: '<id>' } } };
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document that a validator of the 3.1 schema accepts', async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has a route for every procedure but those excluded with a written reason, and each route answers', async () => {
    const document = await fetchDocument();
    const routes = restRoutes(document);
    const procedures = Object.keys(appRouter._def.procedures).sort();
    const covered = [...routes.map((route) => route.procedure), ...Object.keys(REST_EXCLUSIONS)].sort();
    expect(covered).toEqual(procedures);
    for (const reason of Object.values(REST_EXCLUSIONS)) expect(reason.length).toBeGreaterThan(40);
    expect(document.info.description).toContain('jobs.watch');

    for (const route of routes) {
      const operation = document.paths?.[route.path]?.[route.method === 'GET' ? 'get' : 'post'];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.security).toEqual([{ bearerAuth: [] }]);
      // Unauthenticated, every route answers the API's own 401, never a router 404.
      const path = route.path.replace(/\{\w+\}/g, randomUUID());
      const answer = await send(`/api/v1${path}`, { method: route.method, token: null });
      expect(answer.status, `${route.method} ${path}`).toBe(401);
      expect(answer.body).toMatchObject({ error: { data: { appCode: 'UNAUTHENTICATED', path: route.procedure } } });
    }
  });

  it('is the route table README "REST and OpenAPI" shows', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `([\w.]+)` \| `(GET|POST) \/api\/v1(\/[^`]*)` \|/gm)].map(
      ([, procedure, method, path]) => `${procedure} ${method} ${path}`,
    );
    const routes = restRoutes(await fetchDocument()).map((route) => `${route.procedure} ${route.method} ${route.path}`);
    expect(rows.sort()).toEqual(routes.sort());
  });

  it('describes every error answer with the error body the API sends', async () => {
    const document = await fetchDocument();
    const errorSchema = document.components?.schemas?.Error;
    expect(errorSchema).toMatchObject({ properties: { error: { properties: { data: { required: expect.any(Array) } } } } });
    for (const operations of Object.values(document.paths ?? {})) {
      for (const operation of [operations.get, operations.post]) {
        for (const [status, response] of Object.entries(operation?.responses ?? {})) {
          if (status === '200') continue;
          expect(response).toMatchObject({
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          });
        }
      }
    }
  });
});

describe('GET /docs', () => {
  it('renders the reference from the package, with the document from this server and no other host', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('/openapi.json');
    // No other host: no CDN script, no web fonts, no AI agent of the vendor's.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('"withDefaultFonts": false');
    expect(html).toMatch(/"agent": \{\s*"disabled": true/);
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      // Relative to the page (a browser at /docs is sent on to /docs/), on this server.
      const scriptUrl = new URL(src, page.url);
      expect(scriptUrl.origin).toBe(server.url);
      const script = await fetch(scriptUrl);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      await script.arrayBuffer();
    }
  });
});

describe('REST answers as /trpc does', () => {
  it('answers a session with the same JSON as tRPC’s data, and pages with typed query parameters', async () => {
    const rest = await send(`/api/v1/sessions/${sessionId}`);
    const trpc = await trpcQuery('sessions.get', { sessionId });
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual((trpc.body as { result: { data: unknown } }).result.data);

    const page = await send('/api/v1/sessions?limit=1');
    expect(page).toMatchObject({ status: 200, body: { items: [{ sessionId }], nextCursor: null } });
  });

  it('refuses the unauthenticated with the same status and error body', async () => {
    const rest = await send(`/api/v1/sessions/${sessionId}`, { token: null });
    const trpc = await trpcQuery('sessions.get', { sessionId }, null);
    expect(withoutRequestId(rest)).toEqual(withoutRequestId(trpc));
    expect(rest).toMatchObject({ status: 401, body: { error: { data: { appCode: 'UNAUTHENTICATED' } } } });
  });

  it('refuses invalid input with the same message, field errors and code', async () => {
    const input = { sessionId, contentType: 'video/mp4' };
    const rest = await send('/api/v1/uploads', { method: 'POST', body: JSON.stringify(input) });
    const trpc = await trpcMutation('upload.initiate', input);
    expect(withoutRequestId(rest)).toEqual(withoutRequestId(trpc));
    expect(rest).toMatchObject({
      status: 400,
      body: { error: { data: { appCode: 'INVALID_INPUT', fieldErrors: { sizeBytes: [expect.stringContaining('required')] } } } },
    });

    // A query value that is not a number is refused as tRPC refuses the same text.
    const restQuery = await send('/api/v1/sessions?limit=ten');
    const trpcQueryAnswer = await trpcQuery('sessions.list', { limit: 'ten' });
    expect(withoutRequestId(restQuery)).toEqual(withoutRequestId(trpcQueryAnswer));
    expect(restQuery.body).toMatchObject({
      error: { data: { appCode: 'INVALID_INPUT', fieldErrors: { limit: expect.any(Array) } } },
    });
  });

  it('leaves the procedures’ schemas as strict for /trpc after REST calls: no value is coerced but typed query text', async () => {
    // Text where the schema wants a boolean or a number is refused on both endpoints, before and after
    // REST calls have run the same procedures (an adapter that coerced by changing the shared schemas
    // would take "false" as true and true as a size of 1, on /trpc too).
    const input = { sessionId, includeFrames: 'false', sizeBytes: true };
    for (let round = 0; round < 2; round++) {
      const rest = await send('/api/v1/uploads', { method: 'POST', body: JSON.stringify(input) });
      const trpc = await trpcMutation('upload.initiate', input);
      expect(withoutRequestId(rest)).toEqual(withoutRequestId(trpc));
      expect(rest.body).toMatchObject({
        error: {
          data: { appCode: 'INVALID_INPUT', fieldErrors: { includeFrames: expect.any(Array), sizeBytes: expect.any(Array) } },
        },
      });
    }
    expect(await send('/api/v1/sessions?limit=1')).toMatchObject({ status: 200 });
    const asText = await trpcQuery('sessions.list', { limit: '1' });
    expect(asText).toMatchObject({ status: 400, body: { error: { data: { fieldErrors: { limit: expect.any(Array) } } } } });
  });

  it('answers a missing session and another owner’s session alike, as tRPC does', async () => {
    const missing = randomUUID();
    const restMissing = await send(`/api/v1/sessions/${missing}`);
    expect(withoutRequestId(restMissing)).toEqual(withoutRequestId(await trpcQuery('sessions.get', { sessionId: missing })));
    expect(restMissing).toMatchObject({ status: 404, body: { error: { data: { appCode: 'SESSION_NOT_FOUND' } } } });

    const restForeign = await send(`/api/v1/sessions/${sessionId}`, { token: tokenB });
    const trpcForeign = await trpcQuery('sessions.get', { sessionId }, tokenB);
    expect(withoutRequestId(restForeign)).toEqual(withoutRequestId(trpcForeign));
    expect(withoutRequestId(restForeign)).toEqual(withoutRequestId(restMissing));

    // Uploading into it is refused the same way.
    const input = { sessionId, sizeBytes: 1000 };
    const restUpload = await send('/api/v1/uploads', { method: 'POST', body: JSON.stringify(input), token: tokenB });
    expect(withoutRequestId(restUpload)).toEqual(withoutRequestId(await trpcMutation('upload.initiate', input, tokenB)));
    expect(restUpload.body).toMatchObject({ error: { data: { appCode: 'SESSION_NOT_FOUND' } } });
  });

  it('takes the input from the path over the body, so a body cannot name another resource', async () => {
    const { jobId } = await server.clientFor(coachA).upload.initiate.mutate({ sessionId, sizeBytes: 1000 });
    const answer = await send(`/api/v1/uploads/${jobId}/abort`, {
      method: 'POST',
      body: JSON.stringify({ jobId: randomUUID() }),
    });
    expect(answer).toMatchObject({ status: 200, body: { jobId, status: 'aborted' } });
    // A POST whose input is all in its path needs no body at all.
    const again = await send(`/api/v1/uploads/${jobId}/abort`, { method: 'POST' });
    expect(again).toMatchObject({ status: 200, body: { jobId, status: 'aborted' } });
  });

  it('keeps the HTTP limits of /trpc: methods, content types, body size, nesting', async () => {
    const put = await send('/api/v1/sessions', { method: 'PUT', body: '{}' });
    expect(put).toMatchObject({ status: 405, body: { error: { data: { appCode: 'METHOD_NOT_SUPPORTED' } } } });
    const text = await send('/api/v1/sessions', { method: 'POST', body: 'title=x', contentType: 'text/plain' });
    expect(text).toMatchObject({ status: 415, body: { error: { data: { appCode: 'UNSUPPORTED_MEDIA_TYPE' } } } });
    const large = await send('/api/v1/sessions', {
      method: 'POST',
      body: JSON.stringify({ title: 'x'.repeat(1024 * 1024 + 1) }),
    });
    expect(large).toMatchObject({ status: 413, body: { error: { data: { appCode: 'PAYLOAD_TOO_LARGE' } } } });
    const deep = await send('/api/v1/sessions', { method: 'POST', body: `${'['.repeat(17)}${']'.repeat(17)}` });
    expect(deep).toMatchObject({ status: 400, body: { error: { data: { appCode: 'INVALID_INPUT' } } } });
    const malformed = await send('/api/v1/sessions', { method: 'POST', body: '{"title":' });
    expect(malformed).toMatchObject({ status: 400, body: { error: { data: { appCode: 'INVALID_INPUT' } } } });
  });
});

describe('REST rate limits', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ config: { mutationsPerMinute: 2 } });
  });
  afterAll(() => limited?.close());

  it('charges REST and /trpc mutations to one allowance and answers 429 with Retry-After', async () => {
    const token = await limited.tokenFor(coachA);
    const create = (path: string) =>
      fetch(`${limited.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Nets' }),
      });
    expect((await create('/api/v1/sessions')).status).toBe(200);
    expect((await create('/trpc/sessions.create')).status).toBe(200);
    const refused = await create('/api/v1/sessions');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { data: { appCode: 'TOO_MANY_REQUESTS', path: 'sessions.create' } } });
  });
});
