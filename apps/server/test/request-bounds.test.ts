import { request as httpRequest } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { coachA } from '../../../test/helpers/identities.ts';
import { ERROR_LEVEL, memoryLogger, parsedLines } from '../../../test/helpers/memory-log.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../src/request-guard.ts';

const MB = 1000 * 1000;
const MIB = 1024 * 1024;

let server: TestServer;
let token: string;
const log = memoryLogger('info');

beforeAll(async () => {
  server = await startTestServer({ logger: log.logger });
  token = await server.tokenFor(coachA);
});
afterAll(() => server.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { message: string; data: { appCode: string; httpStatus: number } } };
  /** Body bytes the client managed to send before the answer came. */
  sentBytes: number;
}

/**
 * A raw HTTP request (fetch cannot send TRACE, nor stop sending a body once
 * the answer is in). A streamed body is written in 1 MiB chunks with
 * backpressure until `totalBytes` or until the server answers.
 */
function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; stream?: { totalBytes: number } } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sentBytes = 0;
    let answered = false;
    const req = httpRequest(
      `${server.url}${path}`,
      // A fresh connection each: the server closes the ones it refuses.
      { method, agent: false, headers: { authorization: `Bearer ${token}`, ...options.headers } },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Answer['body'], sentBytes });
        });
      },
    );
    // The server may close the connection while we still write: the answer is what matters.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (!options.stream) {
      req.end(options.body);
      return;
    }
    const chunk = Buffer.alloc(MIB, 'a');
    const total = options.stream.totalBytes;
    const pump = () => {
      while (!answered && !req.destroyed && sentBytes < total) {
        const piece = chunk.subarray(0, Math.min(MIB, total - sentBytes));
        sentBytes += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (sentBytes >= total) req.end();
    };
    pump();
  });
}

/** Peak RSS growth of this process (which runs the server) while `task` runs. */
async function rssGrowthDuring<T>(task: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await task();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growthBytes: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

const errorLogsSince = (mark: number) => parsedLines(log.lines.slice(mark)).filter((entry) => entry.level >= ERROR_LEVEL);

describe('request bodies are bounded whatever their content type', () => {
  it('refuses a 150 MB multipart body streamed without a length, reading none of it into memory', async () => {
    const { result, growthBytes } = await rssGrowthDuring(() =>
      send('POST', '/trpc/sessions.create', {
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        stream: { totalBytes: 150 * MB },
      }),
    );
    expect(result.status).toBe(415);
    expect(result.body.error?.data.appCode).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(result.headers.connection).toBe('close');
    expect(growthBytes).toBeLessThan(100 * MIB);
  });

  it('refuses a body declaring 150 MB with 413 before reading it', async () => {
    const { result, growthBytes } = await rssGrowthDuring(() =>
      send('POST', '/trpc/sessions.create', {
        headers: { 'content-type': 'application/json', 'content-length': String(150 * MB) },
        stream: { totalBytes: 150 * MB },
      }),
    );
    expect(result.status).toBe(413);
    expect(result.body.error?.data.appCode).toBe('PAYLOAD_TOO_LARGE');
    expect(growthBytes).toBeLessThan(100 * MIB);
  });

  it('cuts off a chunked JSON body at the limit while it streams in', async () => {
    const answer = await send('POST', '/trpc/sessions.create', {
      headers: { 'content-type': 'application/json' },
      stream: { totalBytes: 150 * MB },
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error?.data.appCode).toBe('PAYLOAD_TOO_LARGE');
    expect(answer.sentBytes).toBeLessThan(150 * MB);
  });

  it.each(['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/json-seq'])(
    'refuses %s, a content type the API does not use, with 415',
    async (contentType) => {
      const answer = await send('POST', '/trpc/sessions.create', {
        headers: { 'content-type': contentType },
        body: JSON.stringify({ title: 'Nets', playerIds: [] }),
      });
      expect(answer.status).toBe(415);
      expect(answer.body.error?.message).toContain('application/json');
    },
  );

  it('still takes JSON with a charset', async () => {
    const answer = await send('POST', '/trpc/sessions.create', {
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ title: 'Nets', playerIds: [] }),
    });
    expect(answer.status).toBe(200);
  });
});

describe('methods and URLs the API does not serve are 4xx, not 500', () => {
  it.each(['TRACE', 'PUT', 'DELETE', 'PATCH'])('%s /trpc/… answers 405 with Allow, and logs no error', async (method) => {
    const mark = log.lines.length;
    const answer = await send(method, '/trpc/sessions.create');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, POST, OPTIONS');
    expect(answer.body.error?.data).toMatchObject({ appCode: 'METHOD_NOT_SUPPORTED', httpStatus: 405 });
    expect(errorLogsSince(mark)).toEqual([]);
  });

  it('answers a batch path over 5,000 characters with 414, and logs no error', async () => {
    const mark = log.lines.length;
    const paths = Array.from({ length: 400 }, () => 'sessions.create').join(',');
    const answer = await send('POST', `/trpc/${paths}?batch=1`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(414);
    expect(answer.body.error?.data).toMatchObject({ appCode: 'URL_TOO_LONG', httpStatus: 414 });
    expect(answer.body.error?.message).toMatch(/at most 20 calls/);
    expect(errorLogsSince(mark)).toEqual([]);
  });
});

describe('deeply nested JSON is refused before it is parsed', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('refuses a 1 MiB nested body with 400 naming the limit, and creates nothing', async () => {
    const sessionsBefore = await server.db.selectFrom('videoSessions').select('id').execute();
    const body = `{"title":"deep","playerIds":${nested(512 * 1024 - 20)}}`;
    const answer = await send('POST', '/trpc/sessions.create', { headers: { 'content-type': 'application/json' }, body });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.data.appCode).toBe('INVALID_INPUT');
    expect(answer.body.error?.message).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(await server.db.selectFrom('videoSessions').select('id').execute()).toEqual(sessionsBefore);
  });

  it('refuses nesting in a query input too', async () => {
    const input = encodeURIComponent(`{"jobId":${nested(100)}}`);
    const answer = await send('GET', `/trpc/jobs.get?input=${input}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toContain('levels');
  });

  it('counts brackets inside strings as text, not nesting', () => {
    expect(jsonDepthExceeds(JSON.stringify({ title: '[[[[[[[[[[[[[[[[[[[[[[[[[[', ids: ['{{{{{{{{{{{{{{{{{{{{{'] }), 3)).toBe(
      false,
    );
    expect(jsonDepthExceeds(JSON.stringify({ title: 'a\\"[[[[' }), 1)).toBe(false);
    expect(jsonDepthExceeds('{"0":{"parts":[{"partNumber":1}]}}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"0":{"parts":[{"partNumber":[1]}]}}', 4)).toBe(true);
  });
});
