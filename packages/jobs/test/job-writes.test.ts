import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

import { findJob, insertJobForOwnedSession, insertSession } from '@coach/db';
import {
  claimJob,
  completeLeasedJob,
  frameKey,
  framesPrefix,
  metricsKey,
  videoKey,
  writeLeasedJob,
  type AnalysisResult,
  type LeaseExit,
} from '@coach/jobs';

import { sampleResult } from '../../../test/helpers/analysis-result.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** A job claimed by one worker, with its lease token. */
async function leasedJob() {
  const owner = { type: 'coach' as const, id: `coach-${randomUUID()}` };
  const sessionId = randomUUID();
  await insertSession(database.db, { id: sessionId, owner, createdBy: owner.id, title: 'Nets', playerIds: [] });
  const job = newJobParams(sessionId, owner);
  await insertJobForOwnedSession(database.db, job);
  await database.db.updateTable('videoAnalysisJobs').set({ status: 'queued' }).where('id', '=', job.id).execute();
  const leaseToken = randomUUID();
  const claimed = await claimJob(database.db, { jobId: job.id, leaseToken, leaseOwner: 'test', leaseSeconds: 60 });
  expect(claimed).toMatchObject({ status: 'processing', leaseToken });
  return { jobId: job.id, leaseToken };
}

describe('lease writes', () => {
  it('leave processing only for the transition table’s exits', () => {
    expectTypeOf<LeaseExit>().toEqualTypeOf<'completed' | 'failed' | 'queued' | 'processing'>();
    // Never run: the compiler is the test (processing → aborted is not in the table).
    const _refused = (jobId: string, leaseToken: string) =>
      // @ts-expect-error aborted is no exit from processing
      writeLeasedJob(database.db, { jobId, leaseToken, to: 'aborted' });
    expect(_refused).toBeTypeOf('function');
  });

  it('complete a job with a valid result and release its lease', async () => {
    const { jobId, leaseToken } = await leasedJob();
    const result = sampleResult({ frameCount: 7 });
    const done = await completeLeasedJob(database.db, { jobId, leaseToken, result, finishedAt: new Date() });
    expect(done).toMatchObject({ status: 'completed', leaseToken: null, progressPercent: 100, result });
  });

  it('refuse a result that fails its schema, writing nothing', async () => {
    const { jobId, leaseToken } = await leasedJob();
    const bad = { ...sampleResult(), frameCount: 'seven' } as unknown as AnalysisResult;
    await expect(completeLeasedJob(database.db, { jobId, leaseToken, result: bad, finishedAt: new Date() })).rejects.toThrow(
      /frameCount/,
    );
    expect(await findJob(database.db, { jobId })).toMatchObject({ status: 'processing', leaseToken, result: null });
  });
});

describe('key layout', () => {
  it('puts the analysis beside the original, under the owner’s prefix', () => {
    const key = videoKey({ owner: { type: 'org', id: 'org/x' }, sessionId: 's1', videoId: 'v1', contentType: 'video/quicktime' });
    expect(key).toBe('coach_plus/org/org%2Fx/s1/v1/original.mov');
    expect(metricsKey(key)).toBe('coach_plus/org/org%2Fx/s1/v1/analysis/metrics.json');
    expect(frameKey(framesPrefix(key), 42)).toBe('coach_plus/org/org%2Fx/s1/v1/frames/000042.jpg');
  });
});
