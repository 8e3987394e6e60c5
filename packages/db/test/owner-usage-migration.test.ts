import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertJobForOwnedSession, readOwnerUsage, sql, type JobStatus, type Owner } from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';
import * as addOwnerUsage from '../src/migrations/2026_12_05_040200_add_owner_usage.ts';

describe('migration add_owner_usage', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("backfills each owner's stored, reserved and open uploads from its jobs, and keeps them from then on", async () => {
    const { db } = database;
    await addOwnerUsage.down(db);
    const coach: Owner = { type: 'coach', id: 'coach-before' };
    const org: Owner = { type: 'org', id: 'org-before' };
    const idle: Owner = { type: 'coach', id: 'coach-no-jobs' };
    const sessions = new Map<Owner, string>();
    for (const owner of [coach, org, idle]) {
      const id = randomUUID();
      // Written as the schema before the migration takes it (insertSession now writes owner_usage too).
      await sql`insert into video_sessions (id, owner_type, owner_id, created_by, title)
        values (${id}, ${owner.type}, ${owner.id}, 'user-1', 'Before')`.execute(db);
      sessions.set(owner, id);
    }
    const jobs: { owner: Owner; status: JobStatus; declared: number | null; stored: number | null }[] = [
      { owner: coach, status: 'completed', declared: 1_000, stored: 1_000 },
      // Queued before stored sizes were recorded: its declared size counts.
      { owner: coach, status: 'failed', declared: 200, stored: null },
      { owner: coach, status: 'awaiting_upload', declared: 50, stored: null },
      { owner: coach, status: 'awaiting_upload', declared: null, stored: null },
      { owner: coach, status: 'rejected', declared: 7_000, stored: 7_000 },
      { owner: coach, status: 'aborted', declared: 9_000, stored: null },
      { owner: org, status: 'processing', declared: 300, stored: 300 },
      { owner: org, status: 'expired', declared: 5_000, stored: null },
    ];
    const ids: string[] = [];
    for (const job of jobs) {
      const params = { ...newJobParams(sessions.get(job.owner) ?? '', job.owner), declaredSizeBytes: job.declared };
      ids.push(params.id);
      await insertJobForOwnedSession(db, params);
      await sql`update video_analysis_jobs set status = ${job.status}, size_bytes = ${job.stored} where id = ${params.id}`.execute(
        db,
      );
    }

    await addOwnerUsage.up(db);

    const usage = (owner: Owner) => readOwnerUsage(db, { owner, defaultQuotaBytes: 0 });
    expect(await usage(coach)).toEqual({ usedBytes: 1_200, reservedBytes: 50, openUploads: 2, quotaBytes: 0 });
    expect(await usage(org)).toEqual({ usedBytes: 300, reservedBytes: 0, openUploads: 0, quotaBytes: 0 });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from owner_usage
      where owner_type = ${idle.type} and owner_id = ${idle.id} and used_bytes = 0 and open_uploads = 0`.execute(db);
    expect(rows[0]?.n).toBe(1);

    // From now on the trigger keeps them: the open upload of 50 bytes is stored and queued.
    await sql`update video_analysis_jobs set status = 'queued', size_bytes = 50 where id = ${ids[2] ?? ''}`.execute(db);
    expect(await usage(coach)).toEqual({ usedBytes: 1_250, reservedBytes: 0, openUploads: 1, quotaBytes: 0 });
  });
});
