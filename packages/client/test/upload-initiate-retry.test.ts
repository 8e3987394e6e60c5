import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClient, uploadVideo } from '@coach/client';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { fastBackoff, MIB, newSession, StorageFetch, storedSha256, uploadTestConfig, writeRandomFile } from './support.ts';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ config: uploadTestConfig });
  dir = await mkdtemp(path.join(tmpdir(), 'coach-client-initiate-'));
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * An API client whose first `upload.initiate` reaches the server and is
 * handled there, but whose answer never arrives: the phone's connection
 * dropped on the way back. Records the input of every initiate sent.
 */
function clientLosingFirstInitiateAnswer() {
  const initiates: { clientRequestId?: string }[] = [];
  let dropped = false;
  const client = createClient({
    url: server.trpcUrl,
    token: () => server.tokenFor(coachA),
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const paths = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1)).split(',');
      const index = paths.indexOf('upload.initiate');
      if (index === -1) return globalThis.fetch(input, init);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, { clientRequestId?: string }>) : {};
      initiates.push(body[String(index)] ?? {});
      const response = await globalThis.fetch(input, init);
      // Read to the end, so the server has answered (and committed) before the answer is lost.
      const text = await response.text();
      if (!dropped) {
        dropped = true;
        throw new TypeError('fetch failed: the connection was reset');
      }
      return new Response(text, { status: response.status, headers: response.headers });
    },
  });
  return { client, initiates };
}

describe('uploadVideo when the answer to upload.initiate is lost', () => {
  it.each([
    ['a single PUT', 1 * MIB + 17],
    ['a multipart upload', 13 * MIB + 5],
  ])('retries with the same clientRequestId and finishes %s with exactly one job', async (_, sizeBytes) => {
    const { client, initiates } = clientLosingFirstInitiateAnswer();
    const sessionId = await newSession(client);
    const file = await writeRandomFile(dir, `clip-${sizeBytes}.mp4`, sizeBytes);
    const storage = new StorageFetch();

    const result = await uploadVideo({ client, sessionId, file: file.path, fetch: storage.fetch, backoff: fastBackoff });
    expect(result.status).toBe('queued');

    expect(initiates).toHaveLength(2);
    const [first, retry] = initiates;
    expect(first?.clientRequestId).toMatch(/^[0-9a-f]{32}$/);
    expect(retry?.clientRequestId).toBe(first?.clientRequestId);
    const jobs = await server.db.selectFrom('videoAnalysisJobs').selectAll().where('sessionId', '=', sessionId).execute();
    expect(jobs.map((j) => j.id)).toEqual([result.jobId]);
    expect(jobs[0]).toMatchObject({
      status: 'queued',
      clientRequestId: first?.clientRequestId,
      uploadMode: sizeBytes > 12 * MIB ? 'multipart' : 'single',
    });
    expect(await storedSha256(server, jobs[0]?.s3Key ?? '')).toBe(file.sha256);
    await server.drainQueue();
  });

  it('uses a new clientRequestId for each upload', async () => {
    const { client, initiates } = clientLosingFirstInitiateAnswer();
    const sessionId = await newSession(client);
    const file = await writeRandomFile(dir, 'twice.mp4', 2048);
    const storage = new StorageFetch();
    const one = await uploadVideo({ client, sessionId, file: file.path, fetch: storage.fetch, backoff: fastBackoff });
    const two = await uploadVideo({ client, sessionId, file: file.path, fetch: storage.fetch, backoff: fastBackoff });
    expect(one.jobId).not.toBe(two.jobId);
    // The first upload needed a retry; the second did not.
    expect(initiates).toHaveLength(3);
    expect(new Set(initiates.map((i) => i.clientRequestId)).size).toBe(2);
    await server.drainQueue();
  });
});
