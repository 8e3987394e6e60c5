import { afterEach, describe, expect, it } from 'vitest';

import { createJobEventHub, silentLogger, type JobEventHub } from '@coach/api';
import { sql } from '@coach/db';

import { useCallerTests } from '../../../test/helpers/api.ts';
import { manualClock } from '../../../test/helpers/clock.ts';
import { coachA, coachB, signedIn } from '../../../test/helpers/identities.ts';
import { openJobWatch, type WatchJobParams } from '../src/domain/watch-job.ts';

const t = useCallerTests();
const ownerA = { type: 'coach' as const, id: coachA.userId };

let hub: JobEventHub | undefined;
afterEach(() => hub?.close());

function setUp(options: { maxWatchStreamsPerUser?: number; fallbackPollMs?: number } = {}) {
  hub = createJobEventHub({ db: t.testDb.db, fallbackPollMs: options.fallbackPollMs });
  const clock = manualClock();
  const deps = {
    db: t.testDb.db,
    logger: silentLogger,
    jobEvents: hub,
    config: { maxWatchStreamsPerUser: options.maxWatchStreamsPerUser ?? 0 },
    now: clock.now,
    scheduleAt: clock.scheduleAt,
  };
  const open = (jobId: string, p: Partial<WatchJobParams> = {}) =>
    openJobWatch(deps, { user: coachA, owner: ownerA, jobId, lastEventId: undefined, signal: undefined, ...p });
  return { hub, clock, open };
}

async function queuedJobId() {
  const caller = t.api.callerFor(signedIn(coachA));
  const { sessionId } = await caller.sessions.create({ title: 'w', playerIds: [] });
  const { jobId } = await caller.upload.initiate({ sessionId, sizeBytes: 1000 });
  return jobId;
}

const setStatus = (jobId: string, status: string, progress = 0) =>
  sql`update video_analysis_jobs set status = ${status}, progress_percent = ${progress}, updated_at = now() where id = ${jobId}`.execute(
    t.testDb.db,
  );

describe('openJobWatch', () => {
  it('handles a change that arrived while the stream was paused, ends at a terminal state and frees everything', async () => {
    const { hub, open } = setUp();
    const jobId = await queuedJobId();
    const stream = await open(jobId);

    const first = await stream.next();
    expect(first.value?.[1].status).toBe('awaiting_upload');
    // The change lands while the generator is paused at its yield.
    await setStatus(jobId, 'rejected');
    hub.publish(jobId);

    const second = await stream.next();
    expect(second.value?.[1].status).toBe('rejected');
    expect((await stream.next()).done).toBe(true);
    expect(hub.openStreams).toBe(0);
  });

  it('reads a changed job once for every stream that watches it', async () => {
    const { hub, open } = setUp();
    const jobId = await queuedJobId();
    const streams = await Promise.all(Array.from({ length: 25 }, () => open(jobId)));
    await Promise.all(streams.map((s) => s.next()));
    const readsBefore = hub.reads;

    await setStatus(jobId, 'failed');
    hub.publish(jobId);
    hub.publish(jobId); // a second notification during the read costs one more read, not 25
    const next = await Promise.all(streams.map((s) => s.next()));

    expect(next.map((n) => n.value?.[1].status)).toEqual(Array(25).fill('failed'));
    expect(hub.reads - readsBefore).toBeLessThanOrEqual(2);
    expect(hub.reads - readsBefore).toBeGreaterThanOrEqual(1);
  });

  it('re-reads a watched job by itself when a notification was lost', async () => {
    const { open } = setUp({ fallbackPollMs: 20 });
    const jobId = await queuedJobId();
    const stream = await open(jobId);
    await stream.next();
    await setStatus(jobId, 'rejected'); // and no publish
    expect((await stream.next()).value?.[1].status).toBe('rejected');
  });

  it("never hands a stream another owner's row, and refuses a foreign job before opening", async () => {
    const { hub, open } = setUp();
    const jobId = await queuedJobId();
    await expect(open(jobId, { user: coachB, owner: { type: 'coach', id: coachB.userId } })).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
    expect(hub.openStreams).toBe(0);

    const stream = await open(jobId);
    await stream.next();
    // The row changes hands (no procedure does this; the filter must hold anyway).
    await sql`update video_analysis_jobs set owner_id = ${coachB.userId}, updated_at = now() where id = ${jobId}`.execute(
      t.testDb.db,
    );
    hub.publish(jobId);
    await expect(stream.next()).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(hub.openStreams).toBe(0);
  });

  it('ends a stream with JOB_NOT_FOUND once its job is deleted, and refuses to open one on a deleted job', async () => {
    const { hub, open } = setUp();
    const jobId = await queuedJobId();
    const stream = await open(jobId);
    await stream.next();
    await t.api.callerFor(signedIn(coachA)).jobs.delete({ jobId });
    hub.publish(jobId);
    await expect(stream.next()).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(hub.openStreams).toBe(0);
    await expect(open(jobId)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('caps open streams per user, and frees a slot when a stream ends or its client leaves', async () => {
    const { hub, open } = setUp({ maxWatchStreamsPerUser: 2 });
    const jobId = await queuedJobId();
    const controller = new AbortController();
    const one = await open(jobId, { signal: controller.signal });
    const two = await open(jobId);
    await expect(open(jobId)).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
    // Another user is counted apart.
    expect(hub.admitStream(coachB.userId, 2)).toBeTypeOf('function');

    controller.abort(); // the client left before the stream was ever read
    expect(hub.openStreams).toBe(2); // two's, and coachB's admitted one
    const three = await open(jobId);
    expect((await one.next()).done).toBe(true);
    await two.return(undefined);
    await three.return(undefined);
  });

  it('ends the stream with an AbortError (no end-of-stream event) when the token expires, and refuses an expired token', async () => {
    const { hub, clock, open } = setUp();
    const jobId = await queuedJobId();
    const expiresAt = clock.now().getTime() + 60_000;
    const stream = await open(jobId, { user: { ...coachA, expiresAt } });
    await stream.next();
    const pending = stream.next();
    clock.advance(30_000);
    expect(clock.pending).toBe(1); // not yet
    clock.advance(30_000);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(hub.openStreams).toBe(0);
    expect(clock.pending).toBe(0);

    await expect(open(jobId, { user: { ...coachA, expiresAt } })).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(hub.openStreams).toBe(0);
  });
});
