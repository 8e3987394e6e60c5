import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClient, errorCodeOf, type RouterOutputs } from '@coach/client';
import type { KyselyPlugin } from '@coach/db';

import { manualClock } from '../../../test/helpers/clock.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

type JobState = RouterOutputs['jobs']['list']['items'][number];

interface Received {
  events: { id: string; data: JobState }[];
  error?: unknown;
  completed: boolean;
  stop(): void;
}

function watch(client: ReturnType<typeof createClient>, input: { jobId: string; lastEventId?: string }): Received {
  const received: Received = { events: [], completed: false, stop: () => {} };
  const subscription = client.jobs.watch.subscribe(input, {
    onData: (event) => received.events.push(event),
    onError: (error) => (received.error = error),
    onComplete: () => (received.completed = true),
  });
  received.stop = () => subscription.unsubscribe();
  return received;
}

async function queuedJob(server: TestServer) {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Watch', playerIds: [] });
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 8 });
  await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(8) });
  await client.upload.complete.mutate({ jobId: upload.jobId });
  return upload.jobId;
}

/** Moves a job on over another connection, as another process (the worker) would. */
async function updateJob(server: TestServer, jobId: string, set: string) {
  const other = new pg.Client({ connectionString: server.dbUrl });
  await other.connect();
  try {
    await other.query(`update video_analysis_jobs set ${set} where id = $1`, [jobId]);
  } finally {
    await other.end();
  }
}

describe('jobs.watch: open streams per user', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { maxWatchStreamsPerUser: 2 } });
  });
  afterAll(() => server?.close());

  it('refuses a stream over the cap with 429 TOO_MANY_STREAMS, counts users apart, and frees a slot when a stream closes', async () => {
    const jobId = await queuedJob(server);
    const client = server.clientFor(coachA);
    const open = [watch(client, { jobId }), watch(client, { jobId })];
    await waitFor(() => open.every((s) => s.events.length > 0), { what: 'two streams to open' });

    // What any SSE client sees: a 200 event stream whose one error event carries the code.
    const url = `${server.trpcUrl}/jobs.watch?input=${encodeURIComponent(JSON.stringify({ jobId }))}`;
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${await server.tokenFor(coachA)}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await response.text();
    const errorData = /event: serialized-error\ndata: (.*)\n/.exec(body)?.[1];
    expect(JSON.parse(errorData ?? 'null')).toMatchObject({
      code: -32029,
      message: 'You already have 2 live job streams open (the limit is 2). Close one you no longer follow, then try again.',
      data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, appCode: 'TOO_MANY_STREAMS' },
    });
    expect(body).not.toContain('event: return');

    // The typed client reports it as an error with the code, and does not retry.
    const third = watch(client, { jobId });
    await waitFor(() => third.error, { what: 'the refusal' });
    expect(errorCodeOf(third.error)).toBe('TOO_MANY_STREAMS');
    expect(third.events).toHaveLength(0);

    // Another user's streams are counted apart (coachB owns nothing here: a plain NOT_FOUND, not the cap).
    const other = watch(server.clientFor(coachB), { jobId });
    await waitFor(() => other.error, { what: "coach B's answer" });
    expect(errorCodeOf(other.error)).toBe('JOB_NOT_FOUND');

    // Closing a stream frees its slot.
    open[0]?.stop();
    await waitFor(() => server.jobEvents.openStreams === 1, { what: 'the server to see the stream close' });
    const again = watch(client, { jobId });
    await waitFor(() => again.events.length > 0 || again.error, { what: 'the new stream' });
    expect(again.error).toBeUndefined();
    again.stop();
    open[1]?.stop();
    await waitFor(() => server.jobEvents.openStreams === 0, { what: 'every stream to close' });
  });
});

describe('jobs.watch: one read per change, and streams that follow the token', () => {
  let server: TestServer;
  let queries = 0;
  const clock = manualClock();
  /** Counts every statement the API sends to Postgres. */
  const counting: KyselyPlugin = {
    transformQuery: (args) => {
      queries += 1;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  beforeAll(async () => {
    // No fallback poll within a test: every read counted here comes from a change.
    server = await startTestServer({ wrapDb: (db) => db.withPlugin(counting), clock, jobPollMs: 3600_000 });
  });
  afterAll(() => server?.close());

  it('reads a changed job once, however many streams watch it, and every stream gets the change', async () => {
    const jobId = await queuedJob(server);
    const client = server.clientFor(coachA);
    const streams = Array.from({ length: 40 }, () => watch(client, { jobId }));
    await waitFor(() => streams.every((s) => s.events.length === 1), { what: 'every stream to open' });

    const before = queries;
    await updateJob(
      server,
      jobId,
      `status = 'processing', progress_percent = 40, lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'`,
    );
    await waitFor(() => streams.every((s) => s.events.length === 2), { what: 'every stream to get the change' });

    expect(queries - before).toBe(1);
    for (const stream of streams) {
      expect(stream.events[1]?.data).toMatchObject({ status: 'processing', progressPercent: 40 });
      stream.stop();
    }
    await waitFor(() => server.jobEvents.openStreams === 0, { what: 'every stream to close' });
  });

  it('ends a stream when its token expires; the client reconnects with a fresh token, resumes, and gets the terminal state', async () => {
    const jobId = await queuedJob(server);
    const tokens = [await server.tokenFor(coachA, { expiresIn: '1h' }), await server.tokenFor(coachA, { expiresIn: '3h' })];
    let tokenCalls = 0;
    const connections: { url: URL; authorization: string | null }[] = [];
    const client = createClient({
      url: server.trpcUrl,
      // The first call gets the short-lived token; every later one (a reconnect) the fresh one.
      token: () => tokens[Math.min(tokenCalls++, 1)],
      fetch: (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input);
        if (url.pathname.endsWith('/jobs.watch')) {
          connections.push({ url, authorization: new Headers(init?.headers).get('authorization') });
        }
        return fetch(input, init);
      },
    });
    const stream = watch(client, { jobId });
    await waitFor(() => stream.events.length > 0, { what: 'the first event' });
    expect(stream.events[0]?.data.status).toBe('queued');

    // The first token's hour passes on the server's clock: the server ends the stream.
    clock.advance(3600_000 + 2_000);
    await waitFor(() => server.jobEvents.openStreams === 0, { what: 'the server to end the stream' });
    // The job finishes while the client is away.
    await updateJob(
      server,
      jobId,
      `status = 'failed', error_code = 'NOT_A_VIDEO', error_message = 'Not a video.', finished_at = now()`,
    );

    await waitFor(() => stream.completed || stream.error, { what: 'the resumed stream to end', timeoutMs: 15_000 });
    expect(stream.error).toBeUndefined();
    expect(stream.events.map((e) => e.data.status)).toEqual(['queued', 'failed']);
    expect(connections).toHaveLength(2);
    expect(connections[0]?.authorization).toBe(`Bearer ${tokens[0]}`);
    expect(connections[1]?.authorization).toBe(`Bearer ${tokens[1]}`);
    // It resumed after the last event it saw (not from the start).
    expect(connections[1]?.url.searchParams.get('lastEventId')).toBe(stream.events[0]?.id);
  });
});
