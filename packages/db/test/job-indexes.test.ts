import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sql } from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';

/**
 * Every index on the jobs table is paid for by every job insert and status
 * change (initiate's hot statement among them), so each must serve a query.
 * A new index belongs in this list with the query that reads it.
 */
const JOB_INDEXES = {
  video_analysis_jobs_pkey: 'every lookup by id',
  video_analysis_jobs_s3_key_key: 'unique: one job per stored object (the upload-events consumer finds a job by its key)',
  video_analysis_jobs_video_id_key: 'unique: one job per video id',
  video_analysis_jobs_session_page: '`listOwnedJobs`: a session’s videos, newest first',
  video_analysis_jobs_open_uploads: '`findExpiredUploads` and the count of jobs awaiting upload',
  video_analysis_jobs_leases: 'the sweeper’s abandoned leases',
  video_analysis_jobs_queued: 'the sweeper’s redispatch of jobs queued too long',
  video_analysis_jobs_client_request: 'a repeated initiate’s `clientRequestId` lookup (unique per user)',
  video_analysis_jobs_key_watch: '`findWatchedKeys`: keys of closed uploads still writable',
  video_analysis_jobs_retention_originals: '`lockRetentionCandidates`: originals due under the defaults, oldest first',
  video_analysis_jobs_retention_everything: '`lockRetentionCandidates`: finished videos due under the defaults, oldest first',
  video_analysis_jobs_retention_owner: '`lockRetentionCandidates`: one owner’s finished videos, under its own policy',
};

describe('the jobs table’s indexes', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('are only those a query reads (the old rate-limit counts’ indexes are gone)', async () => {
    const { rows } = await sql<{ indexname: string }>`
      select indexname from pg_indexes where tablename = 'video_analysis_jobs' order by indexname`.execute(database.db);
    expect(rows.map((r) => r.indexname).sort()).toEqual(Object.keys(JOB_INDEXES).sort());
  });
});
