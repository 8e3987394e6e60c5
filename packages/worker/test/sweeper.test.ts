import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { extendLease, findAbandonedJobs, findJob, sql } from '@coach/db';
import { claimJob, writeLeasedJob } from '@coach/jobs';
import { sweepOnce, type SweeperOptions } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const options = (): SweeperOptions => sweeperOptionsFor(server);

async function initiated() {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Sweep', playerIds: [] });
  return client.upload.initiate.mutate({ sessionId, sizeBytes: 4 });
}

async function queued() {
  const upload = await initiated();
  await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(4) });
  await server.clientFor(coachA).upload.complete.mutate({ jobId: upload.jobId });
  await server.drainQueue();
  return upload.jobId;
}

const outboxKeys = async (jobId: string) =>
  (await server.db.selectFrom('outboxMessages').select('dedupeKey').where('jobId', '=', jobId).orderBy('id').execute()).map(
    (r) => r.dedupeKey,
  );

describe('sweepOnce', () => {
  it('expires uploads past their deadline plus grace with nothing in storage, and leaves fresh ones alone', async () => {
    const stale = await initiated();
    const fresh = await initiated();
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 minutes' where id = ${stale.jobId}`.execute(
      server.db,
    );

    const report = await sweepOnce(options());
    expect(report.expired).toBe(1);
    expect(await findJob(server.db, { jobId: stale.jobId })).toMatchObject({ status: 'expired', errorCode: 'UPLOAD_EXPIRED' });
    expect((await findJob(server.db, { jobId: fresh.jobId }))?.status).toBe('awaiting_upload');
    expect((await sweepOnce(options())).expired).toBe(0);
  });

  it('completes an overdue upload whose PUT landed instead of deleting it as expired (landed uploads: landed-uploads.test.ts)', async () => {
    const landed = await initiated();
    await fetch(putUrl(landed), { method: 'PUT', headers: landed.headers, body: new Uint8Array(4) });
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 minutes' where id = ${landed.jobId}`.execute(
      server.db,
    );

    const report = await sweepOnce(options());
    expect(report).toMatchObject({ expired: 0, completedUploads: 1 });
    expect(await findJob(server.db, { jobId: landed.jobId })).toMatchObject({ status: 'queued', sizeBytes: 4 });
    expect(await server.storage.head(landed.s3Key)).toBeDefined();
    expect(await outboxKeys(landed.jobId)).toEqual([`analysis:${landed.jobId}`]);
  });

  it('expires nothing it could not check in storage: the upload waits for the next sweep', async () => {
    const upload = await initiated();
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 minutes' where id = ${upload.jobId}`.execute(
      server.db,
    );
    const unreachable = { ...server.storage, head: () => Promise.reject(new Error('injected: storage unreachable')) };
    expect(await sweepOnce({ ...options(), storage: unreachable })).toMatchObject({ expired: 0, completedUploads: 0 });
    expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('awaiting_upload');
    expect((await sweepOnce(options())).expired).toBe(1);
  });

  it('re-queues a job whose worker vanished, with a new message, and fails it once attempts run out', async () => {
    const retried = await queued();
    const exhausted = await queued();
    for (const [jobId, attempts] of [
      [retried, 1],
      [exhausted, 3],
    ] as const) {
      await claimJob(server.db, { jobId, leaseToken: crypto.randomUUID(), leaseOwner: 'gone', leaseSeconds: 1 });
      await sql`update video_analysis_jobs set attempts = ${attempts}, lease_expires_at = now() - interval '1 minute' where id = ${jobId}`.execute(
        server.db,
      );
    }

    const report = await sweepOnce(options());
    expect(report).toMatchObject({ requeued: 1, failed: 1 });
    expect(await findJob(server.db, { jobId: retried })).toMatchObject({ status: 'queued', leaseToken: null });
    expect(await outboxKeys(retried)).toEqual([`analysis:${retried}`, `analysis:${retried}:retry:1`]);
    expect(await findJob(server.db, { jobId: exhausted })).toMatchObject({
      status: 'failed',
      errorCode: 'ANALYSIS_RETRIES_EXHAUSTED',
    });
    expect(await outboxKeys(exhausted)).toEqual([`analysis:${exhausted}`]);
  });

  it('does not take over a lease the worker renewed after the sweeper read it', async () => {
    const jobId = await queued();
    const leaseToken = crypto.randomUUID();
    await claimJob(server.db, { jobId, leaseToken, leaseOwner: 'slow', leaseSeconds: 1 });
    await sql`update video_analysis_jobs set lease_expires_at = now() - interval '1 minute' where id = ${jobId}`.execute(
      server.db,
    );
    const [seen] = await findAbandonedJobs(server.db, { graceSeconds: 30, limit: 10 });
    expect(seen?.id).toBe(jobId);
    await extendLease(server.db, { jobId, leaseToken, leaseSeconds: 60 }); // the worker's heartbeat wins the race
    const takenOver = await writeLeasedJob(server.db, { jobId, leaseToken, lapsedForSeconds: 30, to: 'queued' });
    expect(takenOver).toBeUndefined();
    expect(await findJob(server.db, { jobId })).toMatchObject({ status: 'processing', leaseOwner: 'slow' });
  });

  it('fails a queued job whose attempts are used up instead of sending it again', async () => {
    const jobId = await queued();
    await sql`update video_analysis_jobs set attempts = 3, updated_at = now() - interval '1 hour' where id = ${jobId}`.execute(
      server.db,
    );
    const report = await sweepOnce(options());
    expect(report.failed).toBeGreaterThanOrEqual(1);
    expect(await findJob(server.db, { jobId })).toMatchObject({ status: 'failed', errorCode: 'ANALYSIS_RETRIES_EXHAUSTED' });
    expect(await outboxKeys(jobId)).toEqual([`analysis:${jobId}`]);
  });

  it('leaves a live lease alone', async () => {
    const jobId = await queued();
    await claimJob(server.db, { jobId, leaseToken: crypto.randomUUID(), leaseOwner: 'alive', leaseSeconds: 300 });
    await sweepOnce(options());
    expect(await findJob(server.db, { jobId })).toMatchObject({ status: 'processing', leaseOwner: 'alive' });
  });

  it('sends another message for a queued job whose message went missing, once per stale period', async () => {
    const jobId = await queued();
    await sql`update video_analysis_jobs set updated_at = now() - interval '1 hour' where id = ${jobId}`.execute(server.db);
    const [first, second] = await Promise.all([sweepOnce(options()), sweepOnce(options())]);
    expect((first?.redispatched ?? 0) + (second?.redispatched ?? 0)).toBe(1);
    expect(await outboxKeys(jobId)).toEqual([`analysis:${jobId}`, `analysis:${jobId}:redispatch:1`]);
    expect((await sweepOnce(options())).redispatched).toBe(0);
  });

  it('does not redispatch while the first message is still unsent (the relay owns it)', async () => {
    const jobId = await queued();
    await sql`update outbox_messages set sent_at = null where job_id = ${jobId}`.execute(server.db);
    await sql`update video_analysis_jobs set updated_at = now() - interval '1 hour' where id = ${jobId}`.execute(server.db);
    expect((await sweepOnce(options())).redispatched).toBe(0);
    expect(await outboxKeys(jobId)).toEqual([`analysis:${jobId}`]);
  });
});
