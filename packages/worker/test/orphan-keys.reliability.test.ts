/**
 * An upload URL is valid until it expires, whatever happens to its job. Once
 * a job is aborted, rejected or expired its object is deleted, so the same
 * create-only URL stores a new object that no job references. The sweeper
 * must remove whatever reaches such a key until every URL that could write it
 * has expired (plus the upload grace), and then stop watching it.
 *
 * URLs are signed for a SigV4 gateway that enforces expiry and create-only
 * PUTs, as S3 does (the emulator enforces neither). The sweeper's clock is the
 * database's: tests move a job's times into the past, as sweeper.test.ts does;
 * the gateway's clock is moved separately.
 */
import { randomBytes } from 'node:crypto';

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';
import { errorCodeOf } from '@coach/client';
import { findJob, sql } from '@coach/db';
import { sweepOnce, type SweeperOptions } from '@coach/worker';

import { startGatewayStorage, type GatewayStorage } from '../../../test/helpers/gateway-storage.ts';
import type { Identity } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import type { SigV4Gateway } from '../../../test/helpers/sigv4-gateway.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { CLOCK_SKEW_MARGIN_SECONDS } from '../src/sweep/watched-keys.ts';

const MIB = 1024 * 1024;
const ACCESS_KEY_ID = 'AKIAGATEWAYORPHANS01';
const SECRET_ACCESS_KEY = randomBytes(30).toString('base64');
const GRACE_SECONDS = 60;

let gateway: SigV4Gateway;
let gatewayStorage: GatewayStorage | undefined;
let server: TestServer;
/** Moves the gateway's clock (never the server's or the database's). */
let clockOffsetMs = 0;
/** When set, the storage adapter's deletes fail: a cleanup the API or sweeper could not finish. */
let failDeletes = false;

beforeAll(async () => {
  gatewayStorage = await startGatewayStorage({
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    now: () => new Date(Date.now() + clockOffsetMs),
  });
  gateway = gatewayStorage.gateway;
  server = await startTestServer({
    config: {
      multipartThresholdBytes: 5 * MIB,
      multipartPartSizeBytes: 5 * MIB,
      // One open upload per owner: aborting is what frees the slot for the next round.
      maxOpenUploads: 1,
    },
    wrapStorage: (real): ObjectStorage => ({
      ...(gatewayStorage?.signThroughGateway(real) ?? real),
      delete: (key) => (failDeletes ? Promise.reject(new Error('injected: delete failed')) : real.delete(key)),
    }),
  });
});

afterAll(async () => {
  await server?.close();
  await gatewayStorage?.close();
});

const sweep = (overrides: Partial<SweeperOptions> = {}) =>
  sweepOnce(sweeperOptionsFor(server, { uploadGraceSeconds: GRACE_SECONDS, ...overrides }));

let coachCount = 0;
/** A coach of its own per test, so the one-open-upload limit of one test never touches another. */
function newCoach(): Identity {
  coachCount += 1;
  return {
    userId: `coach-orphans-${coachCount}-${randomBytes(3).toString('hex')}`,
    role: 'coach_pro_plus',
    orgId: null,
    features: null,
  };
}

async function initiate(identity: Identity, sizeBytes: number) {
  const client = server.clientFor(identity);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Orphans', playerIds: [] });
  return client.upload.initiate.mutate({ sessionId, sizeBytes });
}

async function put(url: string | null, headers: Record<string, string>, body: Uint8Array): Promise<number> {
  if (!url) throw new Error('expected a single-PUT upload');
  const response = await fetch(url, { method: 'PUT', headers, body });
  await response.arrayBuffer();
  return response.status;
}

const stored = async (key: string) => (await server.storage.head(key)) !== undefined;

async function storedUnder(identity: Identity): Promise<number> {
  const listed = await server.aws.s3.send(
    new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `coach_plus/coach/${identity.userId}/` }),
  );
  return listed.KeyCount ?? 0;
}

/** Moves the database's view of this job's URLs far enough into the past that none can write any more. */
async function pastEveryUrl(jobId: string) {
  await sql`update video_analysis_jobs
    set upload_expires_at = upload_expires_at - interval '30 days',
        key_writable_until = key_writable_until - interval '30 days'
    where id = ${jobId}`.execute(server.db);
}

const isWatched = async (jobId: string) =>
  (await server.db.selectFrom('videoAnalysisJobs').select('keyWritableUntil').where('id', '=', jobId).executeTakeFirstOrThrow())
    .keyWritableUntil !== null;

describe('objects reaching the key of an upload that closed without a video', () => {
  it('aborted single PUT: a re-PUT to the same URL is removed by the next sweep, until the URL has expired', async () => {
    const coach = newCoach();
    const upload = await initiate(coach, 16);
    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    await server.clientFor(coach).upload.abort.mutate({ jobId: upload.jobId });
    expect(await stored(upload.s3Key)).toBe(false);

    // Create-only no longer blocks: the key is empty again.
    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    expect(await stored(upload.s3Key)).toBe(true);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await stored(upload.s3Key)).toBe(false);

    // Still watched while the URL is valid: every new copy goes too.
    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await stored(upload.s3Key)).toBe(false);
    expect(await isWatched(upload.jobId)).toBe(true);

    // Once the URL has expired (and the grace for a PUT begun before it), one last check and the watch ends.
    await pastEveryUrl(upload.jobId);
    expect(await sweep()).toMatchObject({ orphansRemoved: 0, watchesEnded: 1 });
    expect(await isWatched(upload.jobId)).toBe(false);
    try {
      clockOffsetMs = (server.config.uploadUrlExpiresSeconds + 5) * 1000;
      expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(403);
    } finally {
      clockOffsetMs = 0;
    }
    expect(await stored(upload.s3Key)).toBe(false);
    expect(await sweep()).toMatchObject({ keysChecked: 0 });
  });

  it('aborted multipart: the aborted upload id refuses parts, nothing reaches the key, and the watch ends', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const bytes = randomBytes(6 * MIB);
    const upload = await initiate(coach, bytes.length);
    expect(upload.uploadMode).toBe('multipart');
    const { parts } = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1] });
    const [one] = parts;
    if (!one) throw new Error('no part URL');
    expect(await put(one.url, {}, bytes.subarray(0, 5 * MIB))).toBe(200);
    await client.upload.abort.mutate({ jobId: upload.jobId });

    // The same part URL, still valid, reaches storage and is refused there (S3 does the same).
    const again = await fetch(one.url, { method: 'PUT', body: bytes.subarray(0, 5 * MIB) });
    expect({ status: again.status, code: /<Code>([^<]+)<\/Code>/.exec(await again.text())?.[1] }).toEqual({
      status: 404,
      code: 'NoSuchUpload',
    });
    expect(gateway.records.at(-1)?.forwarded).toBe(true);
    expect(await stored(upload.s3Key)).toBe(false);
    expect(await isWatched(upload.jobId)).toBe(true);
    expect(await sweep()).toMatchObject({ orphansRemoved: 0 });

    await pastEveryUrl(upload.jobId);
    expect(await sweep()).toMatchObject({ watchesEnded: 1 });
    expect(await isWatched(upload.jobId)).toBe(false);
  });

  it('rejected single PUT (empty file): a new object through the same URL is removed', async () => {
    const coach = newCoach();
    const upload = await initiate(coach, 16);
    // The URL binds the declared length, so a wrong file reaches the key only another way (written here directly).
    await server.storage.putObject(upload.s3Key, new Uint8Array(0), 'video/mp4');
    const rejected = await server
      .clientFor(coach)
      .upload.complete.mutate({ jobId: upload.jobId })
      .catch((e: unknown) => e);
    expect(errorCodeOf(rejected)).toBe('UPLOAD_REJECTED');
    expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({ status: 'rejected', errorCode: 'EMPTY_UPLOAD' });
    expect(await stored(upload.s3Key)).toBe(false);

    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await stored(upload.s3Key)).toBe(false);
  });

  it('rejected multipart whose delete failed: the assembled object is removed by the sweep', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const upload = await initiate(coach, 6 * MIB);
    const { parts } = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1, 2] });
    const body = randomBytes(6 * MIB);
    const recorded = [];
    for (const part of parts) {
      const start = (part.partNumber - 1) * 5 * MIB;
      const response = await fetch(part.url, { method: 'PUT', body: body.subarray(start, start + part.sizeBytes) });
      expect(response.status).toBe(200);
      recorded.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
    }
    // The job now declares another size, so complete rejects the assembled object, and its delete fails.
    await sql`update video_analysis_jobs set declared_size_bytes = declared_size_bytes + 1 where id = ${upload.jobId}`.execute(
      server.db,
    );
    failDeletes = true;
    try {
      const rejected = await client.upload.complete.mutate({ jobId: upload.jobId, parts: recorded }).catch((e: unknown) => e);
      expect(errorCodeOf(rejected)).toBe('UPLOAD_REJECTED');
    } finally {
      failDeletes = false;
    }
    expect(await stored(upload.s3Key)).toBe(true);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await stored(upload.s3Key)).toBe(false);
  });

  it('expired single PUT: a PUT landing after the job expired is removed, and removed again if repeated', async () => {
    const coach = newCoach();
    const upload = await initiate(coach, 16);
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 minutes' where id = ${upload.jobId}`.execute(
      server.db,
    );
    expect(await sweep()).toMatchObject({ expired: 1 });
    // A PUT begun before the URL expired finishes after the job did (the gateway's clock still has it valid).
    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    expect(await sweep()).toMatchObject({ orphansRemoved: 1 });
    expect(await stored(upload.s3Key)).toBe(false);
    expect(await isWatched(upload.jobId)).toBe(true);
    await pastEveryUrl(upload.jobId);
    expect(await sweep()).toMatchObject({ watchesEnded: 1 });
  });

  it('a key is released only by a check begun after URL expiry + grace + skew margin, and not by a failed check', async () => {
    const coach = newCoach();
    const upload = await initiate(coach, 16);
    await server.clientFor(coach).upload.abort.mutate({ jobId: upload.jobId });
    const urlExpiredAgo = (seconds: number) =>
      // A single PUT's URLs expire by the upload's deadline, so both lie that far back.
      sql`update video_analysis_jobs
        set key_writable_until = now() - make_interval(secs => ${seconds}), upload_expires_at = now() - make_interval(secs => ${seconds})
        where id = ${upload.jobId}`.execute(server.db);

    // Past the grace but within the clock-skew margin: still watched.
    await urlExpiredAgo(GRACE_SECONDS + CLOCK_SKEW_MARGIN_SECONDS - 30);
    await sweep();
    expect(await isWatched(upload.jobId)).toBe(true);

    // Past both, but the check fails (storage refuses the delete): still watched, the orphan still there.
    await urlExpiredAgo(GRACE_SECONDS + CLOCK_SKEW_MARGIN_SECONDS + 30);
    expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
    failDeletes = true;
    try {
      await sweep();
    } finally {
      failDeletes = false;
    }
    expect(await isWatched(upload.jobId)).toBe(true);
    expect(await stored(upload.s3Key)).toBe(true);

    // The next check succeeds: the orphan goes and the watch ends.
    await sweep();
    expect(await stored(upload.s3Key)).toBe(false);
    expect(await isWatched(upload.jobId)).toBe(false);
  });

  it("watches a single PUT's key until its current deadline, even when the closing call read an earlier one", async () => {
    const coach = newCoach();
    const upload = await initiate(coach, 16);
    await server.clientFor(coach).upload.abort.mutate({ jobId: upload.jobId });
    // As a repeated initiate racing the abort leaves it: the deadline (and a URL signed up to it) pushed after the abort read the job.
    await sql`update video_analysis_jobs
      set key_writable_until = now() - interval '1 day', upload_expires_at = now() + interval '1 hour'
      where id = ${upload.jobId}`.execute(server.db);
    await sweep();
    expect(await isWatched(upload.jobId)).toBe(true);

    await pastEveryUrl(upload.jobId);
    await sweep();
    expect(await isWatched(upload.jobId)).toBe(false);
  });

  it('a sweep checks a bounded batch, least recently checked first, so every watched key gets its turn', async () => {
    const coach = newCoach();
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const upload = await initiate(coach, 16);
      await server.clientFor(coach).upload.abort.mutate({ jobId: upload.jobId });
      expect(await put(upload.presignedUrl, upload.headers, randomBytes(16))).toBe(200);
      keys.push(upload.s3Key);
    }
    // Other tests' watched keys are in the rotation too; three batches of one more than cover them.
    const seen = new Set<string>();
    for (let round = 0; round < 20 && (await storedUnder(coach)) > 0; round++) {
      const report = await sweep({ batchSize: 1 });
      expect(report.keysChecked).toBeLessThanOrEqual(1);
      for (const key of keys) if (!(await stored(key))) seen.add(key);
    }
    expect(seen.size).toBe(3);
  });
});

describe('abuse: abort and re-PUT in a loop', () => {
  const rounds = scaled(10, 100);

  it(`${rounds} rounds of initiate, PUT, abort, PUT again leave nothing after a sweep`, async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    let requests = 0;
    for (let i = 0; i < rounds; i++) {
      // With one open upload allowed, each round is possible only because the abort freed the slot.
      const upload = await initiate(coach, 32);
      requests += 2;
      expect(await put(upload.presignedUrl, upload.headers, randomBytes(32))).toBe(200);
      await client.upload.abort.mutate({ jobId: upload.jobId });
      requests += 1;
      expect(await put(upload.presignedUrl, upload.headers, randomBytes(32))).toBe(200);
    }
    const before = await storedUnder(coach);
    expect(before).toBe(rounds);
    const started = performance.now();
    let sweeps = 0;
    let removed = 0;
    while ((await storedUnder(coach)) > 0 && sweeps < 50) {
      removed += (await sweep()).orphansRemoved;
      sweeps += 1;
    }
    const sweepMs = Math.round(performance.now() - started);
    const after = await storedUnder(coach);
    expect(after).toBe(0);
    expect(removed).toBeGreaterThanOrEqual(rounds);
    await recordScenario({
      scenario: 'abort and re-PUT loop',
      scale: `${rounds} rounds of initiate, PUT, abort, PUT to the same URL (one open upload allowed), through a SigV4 gateway`,
      requests,
      jobs: rounds,
      messages: 0,
      results: 0,
      lost: 0,
      duplicated: 0,
      http5xx: 0,
      notes: `objects stored with no job after the loop: ${before}; after ${sweeps} sweep(s) (${sweepMs} ms, batch 100): ${after}`,
    });
  });
});
