import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { countUploadUsage, insertJobForOwnedSession, insertSession, lockUploadQuota, sql, type Owner } from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';

const coach: Owner = { type: 'coach', id: 'coach-prepared' };
const otherCoach: Owner = { type: 'coach', id: 'coach-other' };

describe('named prepared statements', () => {
  let database: TestDatabase;
  let sessionId: string;

  beforeAll(async () => {
    // One connection, so every statement below runs on the backend whose prepared statements are listed.
    database = await createTestDatabase({ maxConnections: 1 });
    sessionId = randomUUID();
    await insertSession(database.db, { id: sessionId, owner: coach, createdBy: 'user-1', title: 'Training', playerIds: [] });
  });
  afterAll(() => database.drop());

  const preparedNames = async () =>
    (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(database.db)).rows.map(
      (row) => row.name,
    );

  it('sends the job insert prepared under its name, and nothing unmarked', async () => {
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toEqual({
      status: 'awaiting_upload',
    });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  // Postgres plans a prepared statement for its parameters five times, then may switch to one
  // generic plan: the ownership check and the idempotency key must hold on that plan as well.
  it('keeps checking ownership and idempotency keys once Postgres uses a generic plan', async () => {
    for (let i = 0; i < 8; i++) {
      await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toBeDefined();
    }
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, otherCoach))).resolves.toBeUndefined();
    await expect(insertJobForOwnedSession(database.db, newJobParams(randomUUID(), coach))).resolves.toBeUndefined();
    const key = randomUUID();
    await expect(
      insertJobForOwnedSession(database.db, newJobParams(sessionId, coach, { clientRequestId: key })),
    ).resolves.toBeDefined();
    await expect(
      insertJobForOwnedSession(database.db, newJobParams(sessionId, coach, { clientRequestId: key })),
    ).resolves.toBeUndefined();

    const { rows } = await sql<{ owners: string[]; count: number }>`
      select array_agg(distinct owner_id) as owners, count(*)::int as count
      from video_analysis_jobs where session_id = ${sessionId}`.execute(database.db);
    expect(rows[0]).toEqual({ owners: [coach.id], count: 10 });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  it('prepares again on a new connection after the old one died', async () => {
    const backendPid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db)).rows[0]?.pid;
    const before = await backendPid();
    await sql`select pg_terminate_backend(pg_backend_pid())`.execute(database.db).catch(() => {});
    // The pool discards the dead client once it notices; then statements run on a fresh backend.
    await expect
      .poll(
        () =>
          backendPid().then(
            () => 'alive',
            () => 'dead',
          ),
        { timeout: 5_000 },
      )
      .toBe('alive');
    expect(await backendPid()).not.toBe(before);
    expect(await preparedNames()).toEqual([]);
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toEqual({
      status: 'awaiting_upload',
    });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  it('prepares the rate-limit lock and counts, which still count what they did before', async () => {
    await database.db.transaction().execute(async (trx) => {
      await lockUploadQuota(trx, { userId: 'user-1', owner: coach });
      // Eleven jobs of user-1 so far (ten above, one on the new connection), all waiting for their file.
      await expect(countUploadUsage(trx, { userId: 'user-1', owner: coach, windowSeconds: 60 })).resolves.toEqual({
        recent: 11,
        oldestAgeSeconds: expect.any(Number),
        open: 11,
      });
      await expect(countUploadUsage(trx, { userId: 'user-2', owner: otherCoach, windowSeconds: 60 })).resolves.toEqual({
        recent: 0,
        oldestAgeSeconds: null,
        open: 0,
      });
    });
    expect(await preparedNames()).toEqual(['count_upload_usage', 'insert_job_for_owned_session', 'lock_upload_quota']);
  });
});
