import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertJobForOwnedSession, insertSession, sql, type JobStatus } from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';
import * as addUploadKeyWatch from '../src/migrations/2026_12_04_221500_add_upload_key_watch.ts';

describe('migration add_upload_key_watch', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('watches the keys of jobs that closed without a video before it ran, and no other', async () => {
    const { db } = database;
    await addUploadKeyWatch.down(db);
    const owner = { type: 'coach' as const, id: 'coach-migration' };
    const sessionId = randomUUID();
    await insertSession(db, { id: sessionId, owner, createdBy: 'user-1', title: 'Before', playerIds: [] });
    const finishedAt = new Date('2026-12-01T10:00:00Z');
    const jobs: { id: string; status: JobStatus; multipart: boolean }[] = [
      { id: '', status: 'aborted', multipart: false },
      { id: '', status: 'rejected', multipart: true },
      { id: '', status: 'expired', multipart: false },
      { id: '', status: 'completed', multipart: false },
      { id: '', status: 'awaiting_upload', multipart: false },
    ];
    for (const job of jobs) {
      const params = {
        ...newJobParams(sessionId, owner),
        multipart: job.multipart ? { uploadId: `upload-${randomUUID()}`, partSizeBytes: 5 * 1024 ** 2, partCount: 2 } : null,
      };
      job.id = params.id;
      await insertJobForOwnedSession(db, params);
      await sql`update video_analysis_jobs set status = ${job.status}, finished_at = ${finishedAt} where id = ${job.id}`.execute(
        db,
      );
    }

    await addUploadKeyWatch.up(db);

    const rows = await sql<{ id: string; keyWritableUntil: Date | null; uploadExpiresAt: Date }>`
      select id, key_writable_until, upload_expires_at from video_analysis_jobs`.execute(db);
    const byId = new Map(rows.rows.map((row) => [row.id, row]));
    const [aborted, rejectedMultipart, expired, completed, open] = jobs.map((job) => byId.get(job.id));
    expect(aborted?.keyWritableUntil).toEqual(aborted?.uploadExpiresAt);
    expect(rejectedMultipart?.keyWritableUntil).toEqual(finishedAt);
    expect(expired?.keyWritableUntil).toEqual(expired?.uploadExpiresAt);
    expect(completed?.keyWritableUntil).toBeNull();
    expect(open?.keyWritableUntil).toBeNull();
  });
});
